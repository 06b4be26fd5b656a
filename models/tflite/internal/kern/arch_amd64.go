package kern

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// nr is the panel width of Packed (output channels per panel): two ymm
// registers of 8 floats, the N side of the 6×16 AVX2 tile.
const nr = 16

// mrAVX is the M side of the AVX2 GEMM tile (see gemm_amd64.s).
const mrAVX = 6

// haveAsm reports whether the AVX2+FMA kernels run on this CPU. It is
// decided once at start-up and never changes.
var haveAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// tileEp is the epilogue of one tile as the assembly reads it: pointers to
// the tile's first bias, slope and residual values and a flag word
// (bit 0 bias, bit 1 residual, bits 2–3 the ActKind).
type tileEp struct {
	bias, alpha, res unsafe.Pointer
	flags            uintptr
}

//go:noescape
func gemmAVX6x16(k int, rows *[6]*float32, b *float32, c *float32, ldc int, ep *tileEp)

// gemmBlockFloats bounds the A block (rows × K floats) that the panel loop
// revisits, so it stays in L2 while each weight panel sits in L1.
const gemmBlockFloats = 48 << 10

func gemmAsm(c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	K, N := p.K, p.N
	panels := (N + nr - 1) / nr
	mc := max(mrAVX, gemmBlockFloats/K/mrAVX*mrAVX)
	var rows [mrAVX]*float32
	var tmp [mrAVX * nr]float32
	var none tileEp
	for mb := m0; mb < m1; mb += mc {
		me := min(m1, mb+mc)
		for j := range panels {
			b := &p.panel(j)[0]
			n0 := j * nr
			nv := min(nr, N-n0)
			for m := mb; m < me; m += mrAVX {
				mv := min(mrAVX, me-m)
				for r := range rows {
					rows[r] = &a[(m+min(r, mv-1))*lda]
				}
				if mv == mrAVX && nv == nr {
					te := tileEpAt(ep, m*ldc+n0, n0)
					gemmAVX6x16(K, &rows, b, &c[m*ldc+n0], ldc*4, &te)
					continue
				}
				// Edge tile: compute it whole into tmp, finish the valid part here.
				gemmAVX6x16(K, &rows, b, &tmp[0], nr*4, &none)
				for r := range mv {
					o := (m+r)*ldc + n0
					for q := range nv {
						c[o+q] = ep.apply(tmp[r*nr+q], resAt(ep, o+q), n0+q)
					}
				}
			}
		}
	}
}

// tileEpAt is ep for the tile whose first output is at index o, channel n0.
func tileEpAt(ep *Epilogue, o, n0 int) tileEp {
	var te tileEp
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

func depthwiseAsm(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) bool {
	return false
}
