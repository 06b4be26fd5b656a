// Package kern holds the hot float32 kernels of the TFLite runtime: packed
// GEMM for 1×1 (and im2col) convolutions and depthwise convolution, each
// with a fused epilogue (bias, residual add, ReLU/ReLU6/PReLU). Every
// kernel has a portable Go version; faster versions (AVX2+FMA assembly on
// amd64, NEON assembly on arm64) are chosen at run time by CPU feature and
// give the same answers up to float32 rounding (they may use fused
// multiply-add and sum in another order). Results do not depend on how the
// caller splits rows between threads.
//
// Files: kern.go (API, packing, dispatch), gemm_go.go and dw_go.go (portable
// kernels), asm_shared.go (drivers for both assembly families),
// arch_*.go (per-architecture constants and declarations), gemm_*.s and
// dw_*.s (micro-kernels).
//
// GEMM: weights are packed once into panels of nr output channels (16 on
// amd64, 8 on arm64); the micro-kernel keeps a 6×16 (AVX2) or 8×8 (NEON)
// tile of accumulators in registers for the whole K loop and walks every
// row tile of a row block per call. On amd64 a last panel of N mod 16 ≤ 8
// columns runs a 6×8 tile. M remainders of up to 4 rows (and M = 1) run
// row kernels that accumulate exactly like the tiles.
//
// Depthwise: 3×3 runs whose taps lie in the input columns take unrolled
// kernels (kernel rows above or below the input read a read-only zero
// row). Layers of 64 channels or more, or whose rows are too long for L1,
// walk pixel pairs with the channels innermost (a block-outer walk strides
// C·4 bytes per access and thrashes L1 sets); narrower ones keep a channel
// block's 9 weights in registers across the row. Border pixels use a
// 9-pointer kernel (narrow layers) or a tap-list kernel that accumulates 8
// channel blocks per pass over the valid taps, which also runs other
// kernel sizes (e.g. MobileFaceNet's 7×7 VALID). All
// vectorise across channels (8 per ymm, 4 per NEON register; 4–7-channel
// layers use xmm on amd64), a channel tail being recomputed as an
// overlapping last block.
//
// Only models/tflite imports this package.
package kern

import "fmt"

// ActKind is the activation of an epilogue.
type ActKind uint8

const (
	// ActNone leaves the value as it is.
	ActNone ActKind = iota
	// ActRelu clamps below at 0.
	ActRelu
	// ActRelu6 clamps to [0, 6].
	ActRelu6
	// ActPRelu multiplies negative values by a per-channel slope.
	ActPRelu
)

// Epilogue is applied to each accumulated output element of channel n:
// y = act(acc + Bias[n] + Residual[same position]).
type Epilogue struct {
	Bias     []float32 // per output channel, or nil
	Act      ActKind
	Alpha    []float32 // PReLU slope per output channel (ActPRelu only)
	Residual []float32 // same layout and stride as the output, or nil
}

// apply finishes one accumulator of channel n whose residual term is res
// (0 when there is none). The order (bias, then residual, then activation)
// is the one the assembly kernels use too.
func (e *Epilogue) apply(v, res float32, n int) float32 {
	if e == nil {
		return v
	}
	if e.Bias != nil {
		v += e.Bias[n]
	}
	v += res
	switch e.Act {
	case ActRelu:
		v = max(v, 0)
	case ActRelu6:
		v = min(max(v, 0), 6)
	case ActPRelu:
		if v < 0 {
			v *= e.Alpha[n]
		}
	}
	return v
}

// check panics with a clear message when ep does not cover n channels or
// the residual is shorter than need elements. The assembly kernels read
// through raw pointers, so every length is checked once per call instead.
func (e *Epilogue) check(n, need int) {
	if e == nil {
		return
	}
	if e.Bias != nil && len(e.Bias) < n {
		panic(fmt.Sprintf("kern: bias has %d values, need %d", len(e.Bias), n))
	}
	if e.Act > ActPRelu {
		panic(fmt.Sprintf("kern: unknown activation %d", e.Act))
	}
	if e.Act == ActPRelu && len(e.Alpha) < n {
		panic(fmt.Sprintf("kern: PReLU slope has %d values, need %d", len(e.Alpha), n))
	}
	if e.Residual != nil && len(e.Residual) < need {
		panic(fmt.Sprintf("kern: residual has %d values, need %d", len(e.Residual), need))
	}
}

// Packed is a weight matrix of N output channels by K inputs, packed for
// Gemm. Its layout belongs to this package: the output channels are cut
// into panels of nr (the width of the register tile: 16 on amd64, 8
// elsewhere); panel j holds, for each k in order, the weights W[c+i][k] of
// its columns c = panelCol(j) … c+width(j)−1, so a micro-kernel reads one
// contiguous stream per panel. When N is not a multiple of nr the last
// panel is either half wide (if N mod nr ≤ nr/2 and the assembly has a
// half-width tile: no work on empty columns) or shifted left to end at
// column N, overlapping its neighbour: every panel is then full and stores
// need no masking (overlapped columns are computed twice, identically).
// Panel j owns the columns [j·nr, min((j+1)·nr, N)). Only N narrower than
// the last panel leaves zero-padded columns.
type Packed struct {
	N, K int
	half bool      // the last panel is nr/2 wide
	w    []float32 // panel j at j·K·nr, K × width(j) floats
}

// PackWeights packs w, an N×K row-major matrix (TFLite's [out][kh][kw][in]
// order flattened), for Gemm.
func PackWeights(w []float32, n, k int) *Packed {
	if n < 0 || k < 0 || len(w) < n*k {
		panic(fmt.Sprintf("kern: PackWeights: %d weights for %d×%d", len(w), n, k))
	}
	p := &Packed{N: n, K: k, half: halfPanel && n%nr != 0 && n%nr <= nr/2}
	panels := p.panels()
	if panels == 0 {
		return p
	}
	p.w = make([]float32, (panels-1)*k*nr+k*p.width(panels-1))
	for j := range panels {
		dst := p.panel(j)
		wd, col0 := p.width(j), p.panelCol(j)
		for i := range wd {
			row := col0 + i
			if row >= n {
				break
			}
			src := w[row*k : row*k+k]
			for kk, v := range src {
				dst[kk*wd+i] = v
			}
		}
	}
	return p
}

// panels is the number of panels.
func (p *Packed) panels() int { return (p.N + nr - 1) / nr }

// width is the number of columns of panel j.
func (p *Packed) width(j int) int {
	if p.half && j == p.panels()-1 {
		return nr / 2
	}
	return nr
}

// panelCol is the first column held by panel j (see Packed).
func (p *Packed) panelCol(j int) int {
	return max(0, min(j*nr, p.N-p.width(j)))
}

// panel returns the packed weights of panel j.
func (p *Packed) panel(j int) []float32 {
	return p.w[j*p.K*nr : j*p.K*nr+p.K*p.width(j)]
}

// impl selects a kernel family. Tests pass both values to the internal
// entry points so that the portable path is always exercised, without any
// package-level switch.
type impl uint8

const (
	implGo  impl = iota // portable Go
	implAsm             // assembly, when the CPU has the features
)

// bestImpl is the fastest family this CPU runs.
func bestImpl() impl {
	if haveAsm {
		return implAsm
	}
	return implGo
}

// Gemm computes rows [m0, m1) of C = A·Wᵀ followed by the epilogue, where A
// is M×K with row stride lda and C is M×N with row stride ldc. The residual,
// if any, uses stride ldc too; it may be the output itself (in-place add)
// but must not otherwise overlap it.
func Gemm(c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	gemm(bestImpl(), c, ldc, a, lda, m0, m1, p, ep)
}

func gemm(im impl, c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	if m1 <= m0 || p.N == 0 {
		return
	}
	if m0 < 0 || len(a) < (m1-1)*lda+p.K || len(c) < (m1-1)*ldc+p.N || lda < p.K || ldc < p.N {
		panic(fmt.Sprintf("kern: Gemm rows [%d,%d) of %d×%d (lda %d, ldc %d) with %d and %d values",
			m0, m1, p.N, p.K, lda, ldc, len(a), len(c)))
	}
	ep.check(p.N, (m1-1)*ldc+p.N)
	if p.K == 0 {
		for m := m0; m < m1; m++ {
			for n := range p.N {
				c[m*ldc+n] = ep.apply(0, resAt(ep, m*ldc+n), n)
			}
		}
		return
	}
	if im == implAsm && haveAsm {
		gemmAsm(c, ldc, a, lda, m0, m1, p, ep)
		return
	}
	gemmGo(c, ldc, a, lda, m0, m1, p, ep)
}

// resAt is the residual term at index i, or 0.
func resAt(ep *Epilogue, i int) float32 {
	if ep == nil || ep.Residual == nil {
		return 0
	}
	return ep.Residual[i]
}

// DWParams describes one depthwise convolution over a single image (NHWC,
// channel multiplier 1).
type DWParams struct {
	H, W, C    int // input size
	KH, KW     int // kernel size
	SH, SW     int // strides
	PadT, PadL int // implicit zero padding before the first row and column
	OH, OW     int // output size
}

// Depthwise computes output rows [oy0, oy1) of a depthwise convolution. in is
// H×W×C, w is KH×KW×C, out is OH×OW×C; taps outside the input read zero. The
// residual, if any, has the output's layout. out must not overlap in or the
// residual.
func Depthwise(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) {
	depthwise(bestImpl(), out, in, w, p, ep, oy0, oy1)
}

func depthwise(im impl, out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) {
	if oy1 <= oy0 || p.OW <= 0 || p.C <= 0 {
		return
	}
	if p.H <= 0 || p.W <= 0 || p.KH <= 0 || p.KW <= 0 || p.SH <= 0 || p.SW <= 0 ||
		oy0 < 0 || oy1 > p.OH || len(in) < p.H*p.W*p.C || len(w) < p.KH*p.KW*p.C ||
		len(out) < p.OH*p.OW*p.C {
		panic(fmt.Sprintf("kern: Depthwise %+v rows [%d,%d) with in %d, w %d, out %d values",
			*p, oy0, oy1, len(in), len(w), len(out)))
	}
	ep.check(p.C, p.OH*p.OW*p.C)
	if im == implAsm && haveAsm && depthwiseAsm(out, in, w, p, ep, oy0, oy1) {
		return
	}
	depthwiseGo(out, in, w, p, ep, oy0, oy1)
}
