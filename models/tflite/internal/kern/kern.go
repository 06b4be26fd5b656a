// Package kern holds the hot float32 kernels of the TFLite runtime: packed
// GEMM for 1×1 (and im2col) convolutions and depthwise convolution, each
// with a fused epilogue. Every kernel has a portable Go version; faster
// versions are chosen at run time by CPU feature and must give the same
// answers.
//
// Only models/tflite imports this package.
package kern

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

func (e *Epilogue) apply(v float32, n int) float32 {
	if e == nil {
		return v
	}
	if e.Bias != nil {
		v += e.Bias[n]
	}
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

// Packed is a weight matrix of N output channels by K inputs, packed for
// Gemm. Its layout belongs to this package.
type Packed struct {
	N, K int
	w    []float32 // N×K row-major copy (portable path)
}

// PackWeights packs w, an N×K row-major matrix (TFLite's [out][kh][kw][in]
// order flattened), for Gemm.
func PackWeights(w []float32, n, k int) *Packed {
	p := &Packed{N: n, K: k, w: make([]float32, n*k)}
	copy(p.w, w[:n*k])
	return p
}

// Gemm computes rows [m0, m1) of C = A·Wᵀ followed by the epilogue, where A
// is M×K with row stride lda and C is M×N with row stride ldc. The residual,
// if any, uses stride ldc too.
func Gemm(c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	gemmGo(c, ldc, a, lda, m0, m1, p, ep)
}

func gemmGo(c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	for m := m0; m < m1; m++ {
		row := a[m*lda : m*lda+p.K]
		for n := 0; n < p.N; n++ {
			w := p.w[n*p.K : (n+1)*p.K]
			var s float32
			for k, x := range row {
				s += x * w[k]
			}
			if ep != nil && ep.Residual != nil {
				s += ep.Residual[m*ldc+n]
			}
			c[m*ldc+n] = ep.apply(s, n)
		}
	}
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
// residual, if any, has the output's layout.
func Depthwise(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) {
	depthwiseGo(out, in, w, p, ep, oy0, oy1)
}

func depthwiseGo(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) {
	C := p.C
	for oy := oy0; oy < oy1; oy++ {
		for ox := 0; ox < p.OW; ox++ {
			o := (oy*p.OW + ox) * C
			for c := 0; c < C; c++ {
				var s float32
				for ky := 0; ky < p.KH; ky++ {
					iy := oy*p.SH - p.PadT + ky
					if iy < 0 || iy >= p.H {
						continue
					}
					for kx := 0; kx < p.KW; kx++ {
						ix := ox*p.SW - p.PadL + kx
						if ix < 0 || ix >= p.W {
							continue
						}
						s += in[(iy*p.W+ix)*C+c] * w[(ky*p.KW+kx)*C+c]
					}
				}
				if ep != nil && ep.Residual != nil {
					s += ep.Residual[o+c]
				}
				out[o+c] = ep.apply(s, c)
			}
		}
	}
}
