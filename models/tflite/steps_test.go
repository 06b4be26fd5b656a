package tflite

import (
	"math"
	"math/rand/v2"
	"testing"

	"facegate/models/tflite/internal/kern"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestConvSteps checks im2col convolutions (SAME, VALID, folded padding,
// strides, batch, residual, PReLU, channel padding) against a direct loop.
func TestConvSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		n, h, w, c, co, kh, kw, sh, sw int
		same                           bool
		pad                            [4]int
	}{
		{1, 9, 11, 3, 5, 3, 3, 2, 2, true, [4]int{}},
		{2, 8, 8, 3, 7, 5, 5, 2, 2, true, [4]int{}},
		{1, 10, 7, 4, 6, 3, 3, 2, 2, false, [4]int{1, 1, 1, 1}},
		{1, 6, 6, 2, 3, 2, 3, 1, 1, false, [4]int{}},
		{2, 5, 5, 8, 16, 1, 1, 1, 1, true, [4]int{}},
		{1, 7, 5, 3, 4, 3, 3, 1, 2, false, [4]int{0, 2, 1, 0}},
	}
	for _, tc := range cases {
		n := &node{kind: kConv, kh: tc.kh, kw: tc.kw, sh: tc.sh, sw: tc.sw, same: tc.same, pad: tc.pad,
			cin: tc.c, cout: tc.co, residual: -1}
		xs := []int{tc.n, tc.h, tc.w, tc.c}
		os, err := inferShape(&node{kind: kConv, kh: n.kh, kw: n.kw, sh: n.sh, sw: n.sw, same: n.same,
			pad: n.pad, cin: n.cin, cout: n.cout, in: []int{0}}, [][]int{xs}, []tensor{{shape: xs}})
		if err != nil {
			t.Fatal(err)
		}
		K := tc.kh * tc.kw * tc.c
		x := randSlice(rng, tc.n*tc.h*tc.w*tc.c)
		w := randSlice(rng, tc.co*K)
		bias := randSlice(rng, tc.co)
		res := randSlice(rng, os[0]*os[1]*os[2]*os[3])
		alpha := randSlice(rng, tc.co)
		_, padT, _ := convOut(tc.h, tc.kh, tc.sh, tc.same, tc.pad[0], tc.pad[2])
		_, padL, _ := convOut(tc.w, tc.kw, tc.sw, tc.same, tc.pad[1], tc.pad[3])
		want := make([]float32, len(res))
		for b := range os[0] {
			for oy := range os[1] {
				for ox := range os[2] {
					for o := range tc.co {
						s := bias[o]
						for ky := range tc.kh {
							for kx := range tc.kw {
								iy, ix := oy*tc.sh-padT+ky, ox*tc.sw-padL+kx
								if iy < 0 || iy >= tc.h || ix < 0 || ix >= tc.w {
									continue
								}
								for c := range tc.c {
									s += x[((b*tc.h+iy)*tc.w+ix)*tc.c+c] * w[o*K+(ky*tc.kw+kx)*tc.c+c]
								}
							}
						}
						i := ((b*os[1]+oy)*os[2]+ox)*tc.co + o
						if v := s + res[i]; v < 0 {
							want[i] = v * alpha[o]
						} else {
							want[i] = v
						}
					}
				}
			}
		}
		for _, split := range []int{1, 3} {
			s := &gemmStep{in: x, out: make([]float32, len(want)), h: tc.h, w: tc.w, c: tc.c, oh: os[1], ow: os[2],
				kh: tc.kh, kw: tc.kw, sh: tc.sh, sw: tc.sw, padT: padT, padL: padL, k: K, n: tc.co,
				m: os[0] * os[1] * os[2], p: kern.PackWeights(w, tc.co, K),
				ep: kern.Epilogue{Bias: bias, Act: kern.ActPRelu, Alpha: alpha, Residual: res}, tile: 8}
			s.direct = tc.kh == 1 && tc.kw == 1 && tc.sh == 1 && tc.sw == 1
			if tc.co < minGemmN && split == 3 {
				// The padded path, as bind sets it up.
				pw := make([]float32, minGemmN*K)
				copy(pw, w)
				s.p, s.padded = kern.PackWeights(pw, minGemmN, K), true
				s.epPad = kern.Epilogue{Bias: padTo(bias, minGemmN)}
			}
			wk := &worker{col: make([]float32, s.tile*K), tmp: make([]float32, s.tile*minGemmN)}
			for lo := 0; lo < s.m; lo += (s.m + split - 1) / split {
				s.run(wk, lo, min(s.m, lo+(s.m+split-1)/split))
			}
			near(t, "conv", s.out, want, 1e-5)
		}
	}
}

// TestPoolStep checks the 2×2 fast path and the general path against a
// direct loop.
func TestPoolStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		n, h, w, c, f, s int
		same             bool
	}{{2, 8, 6, 5, 2, 2, true}, {1, 7, 9, 3, 3, 2, true}, {1, 7, 7, 4, 3, 2, false}, {1, 5, 5, 2, 2, 2, true}} {
		x := randSlice(rng, tc.n*tc.h*tc.w*tc.c)
		oh, pt, _ := convOut(tc.h, tc.f, tc.s, tc.same, 0, 0)
		ow, pl, _ := convOut(tc.w, tc.f, tc.s, tc.same, 0, 0)
		want := make([]float32, tc.n*oh*ow*tc.c)
		for b := range tc.n {
			for oy := range oh {
				for ox := range ow {
					for c := range tc.c {
						m := float32(math.Inf(-1))
						for ky := range tc.f {
							for kx := range tc.f {
								iy, ix := oy*tc.s-pt+ky, ox*tc.s-pl+kx
								if iy >= 0 && iy < tc.h && ix >= 0 && ix < tc.w {
									m = max(m, x[((b*tc.h+iy)*tc.w+ix)*tc.c+c])
								}
							}
						}
						want[((b*oh+oy)*ow+ox)*tc.c+c] = max(m, 0)
					}
				}
			}
		}
		s := &poolStep{in: x, out: make([]float32, len(want)), h: tc.h, w: tc.w, c: tc.c, oc: tc.c, oh: oh, ow: ow,
			fh: tc.f, fw: tc.f, sh: tc.s, sw: tc.s, padT: pt, padL: pl, act: kern.ActRelu}
		s.run(nil, 0, s.units())
		near(t, "pool", s.out, want, 0)

		// With a fused channel PAD: 3 zero channels after each pixel.
		oc := tc.c + 3
		s.oc, s.out = oc, make([]float32, tc.n*oh*ow*oc)
		for i := range s.out {
			s.out[i] = 42
		}
		s.run(nil, 0, s.units())
		for px := range tc.n * oh * ow {
			for c := range oc {
				w := float32(0)
				if c < tc.c {
					w = want[px*tc.c+c]
				}
				if got := s.out[px*oc+c]; got != w {
					t.Fatalf("padded pool pixel %d channel %d = %g, want %g", px, c, got, w)
				}
			}
		}
	}
}

// TestResizeStep checks bilinear resizing (two images, split ranges, a
// residual) against TFLite's formula.
func TestResizeStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	nb, h, w, c := 2, 3, 4, 2
	x := randSlice(rng, nb*h*w*c)
	for _, mode := range []struct{ align, half bool }{{false, false}, {true, false}, {false, true}} {
		oh, ow := 7, 9
		res := randSlice(rng, nb*oh*ow*c)
		s := &resizeStep{in: x, out: make([]float32, nb*oh*ow*c), res: res, h: h, w: w, c: c, oh: oh, ow: ow}
		s.y0, s.y1, s.fy = bilinearAxis(h, oh, mode.align, mode.half)
		s.x0, s.x1, s.fx = bilinearAxis(w, ow, mode.align, mode.half)
		wk := &worker{tmp: make([]float32, 2*ow*c)}
		s.run(wk, 0, 5)
		s.run(wk, 5, s.units())
		src := func(o, in, out int) (float64, int, int) {
			scale := float64(in) / float64(out)
			if mode.align {
				scale = float64(in-1) / float64(out-1)
			}
			v := float64(o) * scale
			if mode.half {
				v = (float64(o)+0.5)*scale - 0.5
			}
			lo := max(int(math.Floor(v)), 0)
			hi := min(int(math.Ceil(v)), in-1)
			return v - float64(lo), lo, hi
		}
		want := make([]float32, len(s.out))
		for n := range nb {
			for oy := range oh {
				dy, y0, y1 := src(oy, h, oh)
				for ox := range ow {
					dx, x0, x1 := src(ox, w, ow)
					for k := range c {
						at := func(yy, xx int) float64 { return float64(x[((n*h+yy)*w+xx)*c+k]) }
						i := ((n*oh+oy)*ow+ox)*c + k
						want[i] = float32(at(y0, x0)*(1-dy)*(1-dx)+at(y1, x0)*dy*(1-dx)+
							at(y0, x1)*(1-dy)*dx+at(y1, x1)*dy*dx) + res[i]
					}
				}
			}
		}
		near(t, "resize", s.out, want, 1e-6)
	}
}

// TestPadAndDepthToSpace checks PAD (spatial and channel) and DEPTH_TO_SPACE.
func TestPadAndDepthToSpace(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ish := [4]int{2, 3, 4, 3}
	before, after := [4]int{0, 1, 2, 1}, [4]int{1, 0, 1, 2}
	var osh [4]int
	for d := range 4 {
		osh[d] = ish[d] + before[d] + after[d]
	}
	x := randSlice(rng, ish[0]*ish[1]*ish[2]*ish[3])
	s := &padStep{in: x, out: make([]float32, osh[0]*osh[1]*osh[2]*osh[3]), ish: ish, osh: osh, before: before}
	for i := range s.out {
		s.out[i] = 42 // every element must be written
	}
	s.run(nil, 0, s.units())
	for n := range osh[0] {
		for y := range osh[1] {
			for xx := range osh[2] {
				for c := range osh[3] {
					in := [4]int{n - before[0], y - before[1], xx - before[2], c - before[3]}
					var want float32
					inside := true
					for d := range 4 {
						inside = inside && in[d] >= 0 && in[d] < ish[d]
					}
					if inside {
						want = x[((in[0]*ish[1]+in[1])*ish[2]+in[2])*ish[3]+in[3]]
					}
					if got := s.out[((n*osh[1]+y)*osh[2]+xx)*osh[3]+c]; got != want {
						t.Fatalf("pad [%d %d %d %d] = %g, want %g", n, y, xx, c, got, want)
					}
				}
			}
		}
	}

	h, w, b, co := 2, 3, 2, 3
	in := randSlice(rng, 2*h*w*b*b*co)
	d := &d2sStep{in: in, out: make([]float32, len(in)), h: h, w: w, c: b * b * co, b: b}
	d.run(nil, 0, d.units())
	for n := range 2 {
		for y := range h * b {
			for xx := range w * b {
				for c := range co {
					want := in[((n*h+y/b)*w+xx/b)*b*b*co+((y%b)*b+xx%b)*co+c]
					if got := d.out[((n*h*b+y)*w*b+xx)*co+c]; got != want {
						t.Fatalf("depth_to_space [%d %d %d %d] = %g, want %g", n, y, xx, c, got, want)
					}
				}
			}
		}
	}
}
