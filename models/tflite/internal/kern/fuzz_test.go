package kern

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzKernels draws one random GEMM (sizes, strides, row range, epilogue,
// in-place residual) and one random depthwise convolution (kernel, strides,
// padding, channels, row range) from the fuzzer's seed and checks every
// kernel family against the references.
func FuzzKernels(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		fuzzGemm(t, r)
		fuzzDepthwise(t, r)
	})
}

func fuzzGemm(t *testing.T, r *rand.Rand) {
	M, N, K := 1+r.IntN(100), 1+r.IntN(150), 1+r.IntN(200)
	lda, ldc := K+r.IntN(4), N+r.IntN(4)
	a := randSlice(r, M*lda)
	w := randSlice(r, N*K)
	p := PackWeights(w, N, K)
	m0 := r.IntN(M)
	m1 := m0 + 1 + r.IntN(M-m0)
	act := acts[r.IntN(len(acts))]
	ep := epCase(r, act, r.IntN(2) == 0, r.IntN(2) == 0, N, M*ldc)
	inPlace := ep.Residual != nil && r.IntN(3) == 0
	base := randSlice(r, M*ldc)
	if inPlace {
		copy(base, ep.Residual)
	}
	want := slices.Clone(base)
	gemmRef(want, ldc, a, lda, m0, m1, w, N, K, ep)
	scale := absSlice(want)
	gemmRef(scale, ldc, absSlice(a), lda, m0, m1, absSlice(w), N, K, bound(ep))
	for _, im := range impls() {
		got := slices.Clone(base)
		e := *ep
		if inPlace {
			e.Residual = got
		}
		gemm(im, got, ldc, a, lda, m0, m1, p, &e)
		if i := firstMismatch(got, want, scale); i >= 0 {
			t.Fatalf("%v GEMM M%d N%d K%d lda %d ldc %d rows [%d,%d) act %d in-place %v: element %d is %v, want %v",
				im, M, N, K, lda, ldc, m0, m1, act, inPlace, i, got[i], want[i])
		}
	}
}

func fuzzDepthwise(t *testing.T, r *rand.Rand) {
	kh, kw := 3, 3
	if r.IntN(2) == 0 {
		kh, kw = 1+r.IntN(7), 1+r.IntN(7)
	}
	sh := 1 + r.IntN(3)
	sw := sh
	if r.IntN(3) == 0 {
		sw = 1 + r.IntN(3)
	}
	H, W, C := 1+r.IntN(30), 1+r.IntN(30), 1+r.IntN(140)
	p := &DWParams{H: H, W: W, C: C, KH: kh, KW: kw, SH: sh, SW: sw, PadT: r.IntN(kh), PadL: r.IntN(kw)}
	p.OH = (H+2*p.PadT-kh)/sh + 1
	p.OW = (W+2*p.PadL-kw)/sw + 1
	if p.OH <= 0 || p.OW <= 0 {
		return
	}
	in := randSlice(r, H*W*C)
	w := randSlice(r, kh*kw*C)
	oy0 := r.IntN(p.OH)
	oy1 := oy0 + 1 + r.IntN(p.OH-oy0)
	act := acts[r.IntN(len(acts))]
	ep := epCase(r, act, r.IntN(2) == 0, r.IntN(2) == 0, C, p.OH*p.OW*C)
	base := randSlice(r, p.OH*p.OW*C)
	want := slices.Clone(base)
	depthwiseRef(want, in, w, p, ep, oy0, oy1)
	scale := absSlice(want)
	depthwiseRef(scale, absSlice(in), absSlice(w), p, bound(ep), oy0, oy1)
	for _, im := range impls() {
		got := slices.Clone(base)
		depthwise(im, got, in, w, p, ep, oy0, oy1)
		if i := firstMismatch(got, want, scale); i >= 0 {
			t.Fatalf("%v depthwise %+v rows [%d,%d) act %d: element %d is %v, want %v", im, *p, oy0, oy1, act, i, got[i], want[i])
		}
	}
}

// firstMismatch is the first index where got and want differ by more than
// the tolerance of compare, or −1.
func firstMismatch(got, want, scale []float32) int {
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*float64(scale[i])+1e-6) {
			return i
		}
	}
	return -1
}
