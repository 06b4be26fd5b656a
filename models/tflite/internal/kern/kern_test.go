package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// impls lists the kernel families to check on this machine: the portable
// one always, the assembly one when the CPU runs it.
func impls() []impl {
	if haveAsm {
		return []impl{implGo, implAsm}
	}
	return []impl{implGo}
}

func (im impl) String() string {
	if im == implAsm {
		return "asm"
	}
	return "go"
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func absSlice(s []float32) []float32 {
	if s == nil {
		return nil
	}
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(math.Abs(float64(v)))
	}
	return out
}

// epCase builds an epilogue of the given kind over n channels with an
// output of size outLen (for the residual).
func epCase(r *rand.Rand, act ActKind, bias, res bool, n, outLen int) *Epilogue {
	ep := &Epilogue{Act: act}
	if bias {
		ep.Bias = randSlice(r, n)
	}
	if res {
		ep.Residual = randSlice(r, outLen)
	}
	if act == ActPRelu {
		ep.Alpha = make([]float32, n)
		for i := range ep.Alpha {
			ep.Alpha[i] = r.Float32()*0.5 - 0.1 // a few negative slopes too
		}
	}
	return ep
}

// bound is the epilogue that yields Σ|a·w| + |bias| + |res|, the scale of the
// rounding error any summation order can make.
func bound(ep *Epilogue) *Epilogue {
	return &Epilogue{Bias: absSlice(ep.Bias), Residual: absSlice(ep.Residual)}
}

// compare fails t when got and want differ by more than 1e-5 relative to
// the magnitude scale (elementwise), reporting the first few mismatches.
func compare(t *testing.T, got, want, scale []float32) {
	t.Helper()
	bad := 0
	for i := range want {
		tol := 1e-5*float64(scale[i]) + 1e-6
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
			if bad < 5 {
				t.Errorf("element %d: got %v, want %v (tolerance %.3g)", i, got[i], want[i], tol)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d elements differ", bad, len(want))
	}
}

var acts = []ActKind{ActNone, ActRelu, ActRelu6, ActPRelu}

func TestGemmMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type shape struct{ M, N, K int }
	shapes := []shape{{1, 1, 1}, {6, 16, 8}, {7, 17, 9}, {13, 33, 64}, {5, 3, 2}, {12, 32, 1},
		// Several row blocks, and BlazeFace-like channel counts (N not a
		// multiple of any tile width).
		{300, 40, 200}, {97, 24, 42}, {64, 28, 36},
		// Row remainders over 4+4, 4+2 and 4+1 full panels (row kernels).
		{97, 70, 130}, {50, 33, 96}, {4, 19, 80}, {1, 64, 512}}
	for range 14 {
		shapes = append(shapes, shape{1 + r.IntN(25), 1 + r.IntN(50), 1 + r.IntN(80)})
	}
	for _, sh := range shapes {
		lda := sh.K + r.IntN(3)
		ldc := sh.N + r.IntN(3)
		a := randSlice(r, sh.M*lda)
		w := randSlice(r, sh.N*sh.K)
		p := PackWeights(w, sh.N, sh.K)
		m0 := r.IntN(sh.M)
		m1 := m0 + 1 + r.IntN(sh.M-m0)
		for _, act := range acts {
			for _, flags := range []int{0, 1, 2, 3} {
				bias, res := flags&1 != 0, flags&2 != 0
				ep := epCase(r, act, bias, res, sh.N, sh.M*ldc)
				if act == ActNone && flags == 0 && r.IntN(2) == 0 {
					ep = nil
				}
				want := randSlice(r, sh.M*ldc)
				gemmRef(want, ldc, a, lda, m0, m1, w, sh.N, sh.K, ep)
				scale := absSlice(want)
				if ep != nil {
					gemmRef(scale, ldc, absSlice(a), lda, m0, m1, absSlice(w), sh.N, sh.K, bound(ep))
				} else {
					gemmRef(scale, ldc, absSlice(a), lda, m0, m1, absSlice(w), sh.N, sh.K, nil)
				}
				for _, im := range impls() {
					name := fmt.Sprintf("%v/M%d_N%d_K%d_rows%d-%d/act%d_bias%v_res%v", im, sh.M, sh.N, sh.K, m0, m1, act, bias, res)
					t.Run(name, func(t *testing.T) {
						got := slices.Clone(want)
						// Poison the rows being computed; the others must be untouched.
						for m := m0; m < m1; m++ {
							for n := range sh.N {
								got[m*ldc+n] = float32(math.NaN())
							}
						}
						gemm(im, got, ldc, a, lda, m0, m1, p, ep)
						compare(t, got, want, scale)
					})
				}
			}
		}
	}
}

// TestGemmResidualInPlace checks that the residual may be the output.
func TestGemmResidualInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const M, N, K = 11, 21, 19
	a := randSlice(r, M*K)
	w := randSlice(r, N*K)
	p := PackWeights(w, N, K)
	for _, im := range impls() {
		t.Run(im.String(), func(t *testing.T) {
			c := randSlice(r, M*N)
			ep := &Epilogue{Bias: randSlice(r, N), Residual: slices.Clone(c), Act: ActRelu}
			want := make([]float32, M*N)
			gemmRef(want, N, a, K, 0, M, w, N, K, ep)
			scale := make([]float32, M*N)
			gemmRef(scale, N, absSlice(a), K, 0, M, absSlice(w), N, K, bound(ep))
			ep.Residual = c
			gemm(im, c, N, a, K, 0, M, p, ep)
			compare(t, c, want, scale)
		})
	}
}

func TestDepthwiseMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	type conv struct{ k, s, pad int }
	convs := []conv{{3, 1, 1}, {3, 2, 0}, {3, 2, 1}, {3, 1, 0}, {5, 1, 2}, {7, 1, 0}, {2, 2, 0}}
	chans := []int{1, 3, 4, 5, 7, 8, 12, 16, 24, 28, 36, 64, 72, 132}
	for i := 0; i < 120; i++ {
		cv := convs[i%len(convs)]
		C := chans[r.IntN(len(chans))]
		H, W := 1+r.IntN(11), 1+r.IntN(11)
		if cv.k == 7 {
			H, W = 7+r.IntN(2), 7+r.IntN(2)
		}
		p := &DWParams{H: H, W: W, C: C, KH: cv.k, KW: cv.k, SH: cv.s, SW: cv.s, PadT: cv.pad, PadL: cv.pad}
		if i%5 == 4 { // asymmetric padding and kernel, as TFLite SAME gives for even sizes
			p.KW = max(1, cv.k-1)
			p.PadL = r.IntN(p.KW)
		}
		p.OH = (H+2*p.PadT-p.KH)/p.SH + 1
		p.OW = (W+2*p.PadL-p.KW)/p.SW + 1
		if p.OH <= 0 || p.OW <= 0 {
			continue
		}
		in := randSlice(r, H*W*C)
		w := randSlice(r, p.KH*p.KW*C)
		oy0 := r.IntN(p.OH)
		oy1 := oy0 + 1 + r.IntN(p.OH-oy0)
		act := acts[i%len(acts)]
		bias, res := r.IntN(2) == 0, r.IntN(2) == 0
		outLen := p.OH * p.OW * C
		ep := epCase(r, act, bias, res, C, outLen)
		want := randSlice(r, outLen)
		depthwiseRef(want, in, w, p, ep, oy0, oy1)
		scale := absSlice(want)
		depthwiseRef(scale, absSlice(in), absSlice(w), p, bound(ep), oy0, oy1)
		for _, im := range impls() {
			name := fmt.Sprintf("%v/%dx%dx%d_k%dx%d_s%d_pad%d,%d_rows%d-%d/act%d_bias%v_res%v",
				im, H, W, C, p.KH, p.KW, p.SH, p.PadT, p.PadL, oy0, oy1, act, bias, res)
			t.Run(name, func(t *testing.T) {
				got := slices.Clone(want)
				for j := oy0 * p.OW * C; j < oy1*p.OW*C; j++ {
					got[j] = float32(math.NaN())
				}
				depthwise(im, got, in, w, p, ep, oy0, oy1)
				compare(t, got, want, scale)
			})
		}
	}
}

// TestDepthwiseWideRows covers rows wider than the zero row the assembly
// borders read (W·C > dwZeros floats on 64-bit targets), which must fall
// back to the tap-list kernel and still agree.
func TestDepthwiseWideRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range []int{1, 2} {
		p := &DWParams{H: 3, W: 290, C: 136, KH: 3, KW: 3, SH: s, SW: s, PadT: 1, PadL: 1}
		p.OH = (p.H+2-3)/s + 1
		p.OW = (p.W+2-3)/s + 1
		in := randSlice(r, p.H*p.W*p.C)
		w := randSlice(r, 9*p.C)
		ep := epCase(r, ActRelu6, true, true, p.C, p.OH*p.OW*p.C)
		want := make([]float32, p.OH*p.OW*p.C)
		depthwiseRef(want, in, w, p, ep, 0, p.OH)
		scale := make([]float32, len(want))
		depthwiseRef(scale, absSlice(in), absSlice(w), p, bound(ep), 0, p.OH)
		for _, im := range impls() {
			t.Run(fmt.Sprintf("%v/s%d", im, s), func(t *testing.T) {
				got := make([]float32, len(want))
				depthwise(im, got, in, w, p, ep, 0, p.OH)
				compare(t, got, want, scale)
			})
		}
	}
}

// TestDepthwiseGlobal covers MobileFaceNet's global depthwise layer shape
// (7×7 VALID to one pixel) with a channel count that exercises both the
// 8-block groups and single blocks of the tap-list kernel.
func TestDepthwiseGlobal(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, act := range acts {
		p := &DWParams{H: 7, W: 7, C: 84, KH: 7, KW: 7, SH: 1, SW: 1, OH: 1, OW: 1}
		in := randSlice(r, p.H*p.W*p.C)
		w := randSlice(r, 49*p.C)
		ep := epCase(r, act, true, true, p.C, p.C)
		want := make([]float32, p.C)
		depthwiseRef(want, in, w, p, ep, 0, 1)
		scale := make([]float32, p.C)
		depthwiseRef(scale, absSlice(in), absSlice(w), p, bound(ep), 0, 1)
		for _, im := range impls() {
			t.Run(fmt.Sprintf("%v/act%d", im, act), func(t *testing.T) {
				got := make([]float32, p.C)
				depthwise(im, got, in, w, p, ep, 0, 1)
				compare(t, got, want, scale)
			})
		}
	}
}

func TestBadArgumentsPanic(t *testing.T) {
	p := PackWeights(make([]float32, 6), 2, 3)
	for name, f := range map[string]func(){
		"short A":    func() { Gemm(make([]float32, 4), 2, make([]float32, 5), 3, 0, 2, p, nil) },
		"short C":    func() { Gemm(make([]float32, 3), 2, make([]float32, 6), 3, 0, 2, p, nil) },
		"short bias": func() { Gemm(make([]float32, 4), 2, make([]float32, 6), 3, 0, 2, p, &Epilogue{Bias: []float32{1}}) },
		"no alpha":   func() { Gemm(make([]float32, 4), 2, make([]float32, 6), 3, 0, 2, p, &Epilogue{Act: ActPRelu}) },
		"short dw input": func() {
			dp := &DWParams{H: 3, W: 3, C: 8, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 3, OW: 3}
			Depthwise(make([]float32, 72), make([]float32, 71), make([]float32, 72), dp, nil, 0, 3)
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// TestRowSplitsAgree checks that computing the rows in pieces (as threads
// do) gives bit-identical results to one call, for every family.
func TestRowSplitsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const M, K, N = 53, 37, 45
	a := randSlice(r, M*K)
	p := PackWeights(randSlice(r, N*K), N, K)
	gep := epCase(r, ActPRelu, true, true, N, M*N)
	dp := &DWParams{H: 13, W: 11, C: 72, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 13, OW: 11}
	in := randSlice(r, dp.H*dp.W*dp.C)
	dw := randSlice(r, 9*dp.C)
	dep := epCase(r, ActRelu6, true, true, dp.C, dp.OH*dp.OW*dp.C)
	for _, im := range impls() {
		t.Run(im.String(), func(t *testing.T) {
			whole := make([]float32, M*N)
			gemm(im, whole, N, a, K, 0, M, p, gep)
			parts := make([]float32, M*N)
			for m0 := 0; m0 < M; {
				m1 := min(M, m0+1+r.IntN(9))
				gemm(im, parts, N, a, K, m0, m1, p, gep)
				m0 = m1
			}
			if !slices.Equal(whole, parts) {
				t.Error("GEMM rows computed in pieces differ from one call")
			}
			dwhole := make([]float32, dp.OH*dp.OW*dp.C)
			depthwise(im, dwhole, in, dw, dp, dep, 0, dp.OH)
			dparts := make([]float32, len(dwhole))
			for y0 := 0; y0 < dp.OH; {
				y1 := min(dp.OH, y0+1+r.IntN(4))
				depthwise(im, dparts, in, dw, dp, dep, y0, y1)
				y0 = y1
			}
			if !slices.Equal(dwhole, dparts) {
				t.Error("depthwise rows computed in pieces differ from one call")
			}
		})
	}
}
