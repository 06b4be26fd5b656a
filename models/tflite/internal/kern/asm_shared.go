//go:build amd64 || arm64

package kern

import "unsafe"

// tileEp is the epilogue of one tile as the assembly reads it: pointers to
// the tile's first bias, slope and residual values, a flag word (bit 0
// bias, bit 1 residual, bits 2–3 the ActKind), a column mask for kernels
// that take one (asmColMask; nr int32 lanes, −1 for columns to write, or
// nil for all) and the number of valid rows of the last tile.
type tileEp struct {
	bias, alpha, res unsafe.Pointer
	flags            uintptr
	mask             unsafe.Pointer
	rows             int
}

// gemmBlockFloats bounds the A block (rows × K floats) that the panel loop
// revisits, so it stays in L2 while each weight panel sits in L1.
const gemmBlockFloats = 48 << 10

// gemmAsm drives the assembly micro-kernel: A is cut into row blocks that
// stay in L2, each block is swept by every weight panel (which stays in L1)
// and each panel by mrAsm-row tiles. Full tiles, including the shifted last
// panel of Packed, store directly with the fused epilogue. A panel narrower
// than nr (N < nr), a shifted panel whose residual is the output itself
// (its overlapped columns must not get the residual twice) are the only
// masked (asmColMask) or Go-finished tiles; M remainders are finished by
// the kernel (asmRowEdges) or, when few, row by row (asmRowKernel).
func gemmAsm(c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	K, N := p.K, p.N
	mc := max(mrAsm, gemmBlockFloats/K/mrAsm*mrAsm)
	inPlace := ep != nil && ep.Residual != nil && overlaps(c, ep.Residual)
	var (
		rows              [mrAsm]*float32
		tmp               [mrAsm * nr]float32
		none              tileEp
		mask              [nr]int32
		biasPad, alphaPad [nr]float32
	)
	// panelSetup describes panel j: its epilogue (residual not set), first
	// column, width, valid lanes, first lane to write, and whether it needs
	// masking or the Go epilogue.
	panelSetup := func(j int) (te tileEp, col0, wd, nv, q0 int, partial bool) {
		wd, col0 = p.width(j), p.panelCol(j)
		nv = min(wd, N-col0)
		if inPlace {
			q0 = j*nr - col0
		}
		partial = nv < wd || q0 > 0
		te = tileEpAt(ep, 0, col0)
		if partial && asmColMask {
			for q := range nr {
				mask[q] = 0
				if q >= q0 && q < nv {
					mask[q] = -1
				}
			}
			te.mask = unsafe.Pointer(&mask[0])
			if nv < wd { // the kernel reads wd bias and slope values
				if ep != nil && ep.Bias != nil {
					copy(biasPad[:], ep.Bias[col0:N])
					te.bias = unsafe.Pointer(&biasPad[0])
				}
				if ep != nil && ep.Act == ActPRelu {
					copy(alphaPad[:], ep.Alpha[col0:N])
					te.alpha = unsafe.Pointer(&alphaPad[0])
				}
			}
		}
		return te, col0, wd, nv, q0, partial
	}
	// tiles runs rows [m, me) of panel j through the tile kernels.
	tiles := func(j, m, me int) {
		te, col0, wd, nv, q0, partial := panelSetup(j)
		b := &p.panel(j)[0]
		half := wd < nr
		for m < me {
			mv := min(mrAsm, me-m)
			nt := 1
			if asmMultiTile && mv == mrAsm {
				nt = (me - m) / mrAsm
			}
			for r := range rows {
				rows[r] = &a[(m+min(r, mv-1))*lda]
			}
			if (mv == mrAsm || asmRowEdges) && (!partial || asmColMask) {
				if ep != nil && ep.Residual != nil {
					te.res = unsafe.Pointer(&ep.Residual[m*ldc+col0])
				}
				te.rows = mv
				// Direct calls (not a func value) keep //go:noescape.
				if half {
					gemmTile8Asm(K, &rows, b, &c[m*ldc+col0], ldc*4, &te, lda, nt)
				} else {
					gemmTileAsm(K, &rows, b, &c[m*ldc+col0], ldc*4, &te, lda, nt)
				}
				m += nt * mv
				continue
			}
			// Edge tile: compute it whole into tmp, finish the valid part here.
			none.rows = mrAsm
			if half {
				gemmTile8Asm(K, &rows, b, &tmp[0], wd*4, &none, lda, 1)
			} else {
				gemmTileAsm(K, &rows, b, &tmp[0], wd*4, &none, lda, 1)
			}
			for r := range mv {
				o := (m+r)*ldc + col0
				for q := q0; q < nv; q++ {
					c[o+q] = ep.apply(tmp[r*wd+q], resAt(ep, o+q), col0+q)
				}
			}
			m += mv
		}
	}
	// simple reports whether panel j is full width, unshifted and needs no
	// mask: the panels the row kernels take, several at a time.
	simple := func(j int) bool {
		return p.width(j) == nr && p.panelCol(j) == j*nr && (j+1)*nr <= N
	}
	panels := p.panels()
	for mb := m0; mb < m1; mb += mc {
		me := min(m1, mb+mc)
		tileEnd := me
		if rem := (me - mb) % mrAsm; asmRowKernel && rem > 0 && rem <= rowKernelMax {
			tileEnd = me - rem
		}
		for j := range panels {
			tiles(j, mb, tileEnd)
		}
		for m := tileEnd; m < me; m++ {
			for j := 0; j < panels; {
				if !simple(j) {
					tiles(j, m, m+1)
					j++
					continue
				}
				np := 1
				for np < 4 && j+np < panels && simple(j+np) {
					np++
				}
				if np == 3 {
					np = 2
				}
				te := tileEpAt(ep, m*ldc+j*nr, j*nr)
				ap, bp, cp := &a[m*lda], &p.panel(j)[0], &c[m*ldc+j*nr]
				switch np {
				case 4:
					gemmRow4Asm(K, ap, bp, K*nr*4, cp, &te)
				case 2:
					gemmRow2Asm(K, ap, bp, K*nr*4, cp, &te)
				default:
					gemmRow1Asm(K, ap, bp, K*nr*4, cp, &te)
				}
				j += np
			}
		}
	}
}

// overlaps reports whether x and y share memory.
func overlaps(x, y []float32) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	x0, y0 := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return x0 < y0+uintptr(len(y))*4 && y0 < x0+uintptr(len(x))*4
}

// tileEpAt is ep for the tile whose first output is at index o, channel n0.
func tileEpAt(ep *Epilogue, o, n0 int) tileEp {
	te := tileEp{rows: mrAsm}
	if ep == nil {
		return te
	}
	if ep.Bias != nil {
		te.bias = unsafe.Pointer(&ep.Bias[n0])
		te.flags |= 1
	}
	if ep.Residual != nil {
		te.res = unsafe.Pointer(&ep.Residual[o])
		te.flags |= 2
	}
	if ep.Act == ActPRelu {
		te.alpha = unsafe.Pointer(&ep.Alpha[n0])
	}
	te.flags |= uintptr(ep.Act) << 2
	return te
}

// dwArgs is the argument block of the depthwise kernels (field offsets are
// mirrored in dw_amd64.s). Pointers address channel c0 of the first pixel;
// byte strides: c4 = C·4 (next tap column, next output pixel), row = W·C·4
// (next input row), pix = stride·C·4 (next input pixel).
type dwArgs struct {
	out, in, w, bias, alpha, res unsafe.Pointer
	n, cb, c4, row, pix          int
	flags                        uintptr
	taps                         unsafe.Pointer // *[ntaps][2]int: input and weight byte offsets
	ntaps                        int
	in1, in2                     unsafe.Pointer // kernel rows 1 and 2 for dw3x3Asm (in is row 0)
}

// zeroRow is read, never written: kernel rows above or below the input and
// taps outside it point here, so border pixels run the same branch-free
// code as the interior. Untouched BSS, it costs no resident memory.
var zeroRow [dwZeros]float32

// dwUsePairs reports whether 3×3 runs of this layer take the pixel-pair
// kernel: for wide pixels (C ≥ dwPairMinC) whose block-outer walk
// thrashes L1 sets, and for rows too long for the three kernel rows to stay
// in L1 across the block-outer passes (measured on BlazeFace's and
// MobileFaceNet's layers; narrower layers run faster block-outer).
func dwUsePairs(p *DWParams) bool {
	// The pair kernels read a missing bias from zeroRow, C floats of it.
	return dwHavePairs && p.C <= dwZeros && (p.C >= dwPairMinC || 3*p.W*p.C*4 > 32<<10)
}

// dwZeros is the size of zeroRow, which bounds the input row (W·C floats)
// and channel count that border pixels of a 3×3 convolution can handle
// branch-free; larger layers use the tap-list kernel there.
const dwZeros = 1 << 15

// maxTaps bounds the kernel size the assembly path takes (the tap list lives
// on the stack); larger kernels use the Go path.
const maxTaps = 64

// depthwiseAsm runs the assembly depthwise kernels and reports whether it
// did. Channels are done in blocks of dwBlock; when C is not a multiple of
// it the last block is recomputed at channel C−dwBlock (overlapping, same values), which is
// why out must not overlap in or the residual.
func depthwiseAsm(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) bool {
	C := p.C
	if p.KH*p.KW > maxTaps {
		return false
	}
	bw := dwBlock
	if C < dwBlock {
		if !dwHaveNarrow || C < 4 {
			return false
		}
		bw = 4 // 4 to 7 channels on amd64: the xmm tap-list kernel
	}
	dwChannels(out, in, w, p, ep, oy0, oy1, 0, C/bw, bw)
	if C%bw != 0 {
		dwChannels(out, in, w, p, ep, oy0, oy1, C-bw, 1, bw)
	}
	return true
}

// dwChannels computes channels [c0, c0+bw·cb) of output rows [oy0, oy1)
// with blocks of bw channels. Each row is cut into a left border, a run
// whose taps all lie in the input columns and a right border. For 3×3 the
// run takes the unrolled row kernel (block-outer, or pixel pairs for wide
// layers; kernel rows outside the input read zeroRow), border pixels the
// 9-pointer kernel (fewer than 8 blocks) or the tap-list kernel; other
// kernel sizes and narrow (4-channel) blocks take the tap-list kernel.
func dwChannels(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1, c0, cb, bw int) {
	narrow := bw != dwBlock // only the narrow tap-list kernel runs
	C := p.C
	var (
		taps [maxTaps][2]int
		ptrs [9]unsafe.Pointer
	)
	a := dwArgs{
		w:   unsafe.Pointer(&w[c0]),
		cb:  cb,
		c4:  C * 4,
		row: p.W * C * 4,
		pix: p.SW * C * 4,
	}
	if ep != nil {
		if ep.Bias != nil {
			a.bias = unsafe.Pointer(&ep.Bias[c0])
		}
		if ep.Act == ActPRelu {
			a.alpha = unsafe.Pointer(&ep.Alpha[c0])
		}
		a.flags = uintptr(ep.Act) << 2
	}
	// Interior columns: ix0 = ox·SW − PadL ≥ 0 and ix0 + KW ≤ W.
	oxa := min(p.OW, (p.PadL+p.SW-1)/p.SW)
	oxb := oxa
	if lim := p.W - p.KW + p.PadL; lim >= 0 {
		oxb = min(p.OW, max(oxa, lim/p.SW+1))
	}
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*p.SH - p.PadT
		ky0, ky1 := max(0, -iy0), min(p.KH, p.H-iy0)
		run := func(ox0, n int) {
			ix0 := ox0*p.SW - p.PadL
			kx0, kx1 := max(0, -ix0), min(p.KW, p.W-ix0)
			o := (oy*p.OW+ox0)*C + c0
			a.out = unsafe.Pointer(&out[o])
			a.res = nil
			if ep != nil && ep.Residual != nil {
				a.res = unsafe.Pointer(&ep.Residual[o])
			}
			a.n = n
			if !narrow && p.KH == 3 && p.KW == 3 && kx1-kx0 == 3 && ky1 > ky0 &&
				(ky1-ky0 == 3 || (n-1)*p.SW*C+2*C+c0+dwBlock*cb <= dwZeros) {
				// All columns in bounds: rows outside the input read zeroRow.
				var rp [3]unsafe.Pointer
				for ky := range 3 {
					rp[ky] = unsafe.Pointer(&zeroRow[c0])
					if ky >= ky0 && ky < ky1 {
						rp[ky] = unsafe.Pointer(&in[((iy0+ky)*p.W+ix0)*C+c0])
					}
				}
				a.in, a.in1, a.in2 = rp[0], rp[1], rp[2]
				if !dwUsePairs(p) || n < 2 {
					dw3x3Asm(&a)
					return
				}
				// Wide layer: pixel pairs with contiguous channels, and the
				// odd last pixel through the pointer kernel.
				a.n = n &^ 1
				dw3x3PairAsm(&a)
				if n%2 == 0 {
					return
				}
				x := n - 1
				for ky := range 3 {
					for kx := range 3 {
						ptrs[ky*3+kx] = unsafe.Add(rp[ky], (x*p.SW+kx)*C*4)
					}
				}
				a.taps = unsafe.Pointer(&ptrs[0])
				a.out = unsafe.Pointer(&out[o+x*C])
				if ep != nil && ep.Residual != nil {
					a.res = unsafe.Pointer(&ep.Residual[o+x*C])
				}
				dw3x3PtrAsm(&a)
				return
			}
			if !narrow && p.KH == 3 && p.KW == 3 && dwBlock*cb <= dwZeros && cb < 8 {
				// Border pixels of narrow layers: taps outside the input
				// read zeros. From 8 blocks on, the tap-list kernel's
				// 8-block passes over only the valid taps are faster.
				for x := range n {
					ixx := ix0 + x*p.SW
					kx0, kx1 := max(0, -ixx), min(3, p.W-ixx)
					for ky := range 3 {
						for kx := range 3 {
							pt := unsafe.Pointer(&zeroRow[0])
							if ky >= ky0 && ky < ky1 && kx >= kx0 && kx < kx1 {
								pt = unsafe.Pointer(&in[((iy0+ky)*p.W+ixx+kx)*C+c0])
							}
							ptrs[ky*3+kx] = pt
						}
					}
					a.taps = unsafe.Pointer(&ptrs[0])
					a.out = unsafe.Pointer(&out[o+x*C])
					if ep != nil && ep.Residual != nil {
						a.res = unsafe.Pointer(&ep.Residual[o+x*C])
					}
					dw3x3PtrAsm(&a)
				}
				return
			}
			nt := 0
			for ky := ky0; ky < ky1; ky++ {
				for kx := kx0; kx < kx1; kx++ {
					taps[nt] = [2]int{((iy0+ky)*p.W + ix0 + kx) * C * 4, (ky*p.KW + kx) * C * 4}
					nt++
				}
			}
			if nt == 0 { // no tap in bounds: the epilogue of zero
				for x := range n {
					acc := out[o+x*C : o+x*C+bw*cb]
					clear(acc)
					dwEpilogue(acc, ep, o+x*C, c0)
				}
				return
			}
			a.in = unsafe.Pointer(&in[c0])
			a.taps = unsafe.Pointer(&taps[0])
			a.ntaps = nt
			if narrow {
				dwTaps4Asm(&a)
				return
			}
			dwTapsAsm(&a)
		}
		for ox := 0; ox < oxa; ox++ {
			run(ox, 1)
		}
		if oxb > oxa {
			run(oxa, oxb-oxa)
		}
		for ox := oxb; ox < p.OW; ox++ {
			run(ox, 1)
		}
	}
}
