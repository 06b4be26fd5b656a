package camera

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"facegate/pipeline/frame"
)

// padded makes a w×h frame with 5 bytes of padding per row (so the
// resizer must honour Stride), filled by pix(x, y, channel).
func padded(w, h int, pix func(x, y, c int) byte) *frame.Frame {
	f := &frame.Frame{Width: w, Height: h, Stride: 3*w + 5, Format: frame.BGR}
	f.Pix = make([]byte, f.Stride*h)
	for i := range f.Pix {
		f.Pix[i] = 0xee // padding that must not leak into the output
	}
	for y := range h {
		for x := range w {
			for c := range 3 {
				f.Pix[y*f.Stride+3*x+c] = pix(x, y, c)
			}
		}
	}
	return f
}

func at(f *frame.Frame, x, y, c int) byte { return f.Pix[y*f.Stride+3*x+c] }

// checkShape checks dst is a packed w×h frame.
func checkShape(t *testing.T, dst *frame.Frame, w, h int, format frame.Format) {
	t.Helper()
	if dst.Width != w || dst.Height != h || dst.Stride != 3*w || len(dst.Pix) != 3*w*h || dst.Format != format {
		t.Fatalf("dst %dx%d stride %d len %d %v, want packed %dx%d %v", dst.Width, dst.Height, dst.Stride, len(dst.Pix), dst.Format, w, h, format)
	}
}

var resizeSizes = [][4]int{ // src w, h → dst w, h
	{8, 6, 4, 3}, {1280, 720, 640, 480}, {10, 10, 3, 7}, {7, 5, 13, 11},
	{6, 4, 6, 4}, {1, 1, 5, 3}, {5, 1, 1, 1}, {1, 9, 1, 4}, {1, 4, 1, 9},
	{9, 1, 20, 1}, {3, 3, 1, 1}, {100, 2, 3, 50}, {2, 100, 50, 3},
}

func TestResizeConstantStaysConstant(t *testing.T) {
	for _, s := range resizeSizes {
		src := padded(s[0], s[1], func(_, _, c int) byte { return []byte{17, 128, 255}[c] })
		src.Format = frame.RGB
		var dst frame.Frame
		resizeBGR(&dst, src, s[2], s[3])
		checkShape(t, &dst, s[2], s[3], frame.RGB)
		for i := 0; i < len(dst.Pix); i += 3 {
			if [3]byte(dst.Pix[i:]) != [3]byte{17, 128, 255} {
				t.Fatalf("%v: pixel %d is %v", s, i/3, dst.Pix[i:i+3])
			}
		}
	}
}

func TestResizeHalfIsBlockAverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := padded(38, 22, func(_, _, _ int) byte { return byte(rng.IntN(256)) })
	var dst frame.Frame
	resizeBGR(&dst, src, 19, 11)
	checkShape(t, &dst, 19, 11, frame.BGR)
	for y := range 11 {
		for x := range 19 {
			for c := range 3 {
				sum := int(at(src, 2*x, 2*y, c)) + int(at(src, 2*x+1, 2*y, c)) + int(at(src, 2*x, 2*y+1, c)) + int(at(src, 2*x+1, 2*y+1, c))
				if want := byte((sum + 2) / 4); at(&dst, x, y, c) != want {
					t.Fatalf("pixel %d,%d channel %d: %d, want %d", x, y, c, at(&dst, x, y, c), want)
				}
			}
		}
	}
}

func TestResizeGradientStaysMonotone(t *testing.T) {
	for _, s := range resizeSizes {
		src := padded(s[0], s[1], func(x, y, c int) byte {
			return byte((255 * (x + y)) / max(1, s[0]+s[1]-2))
		})
		var dst frame.Frame
		resizeBGR(&dst, src, s[2], s[3])
		for y := range s[3] {
			for x := range s[2] {
				v := at(&dst, x, y, 0)
				if x > 0 && v < at(&dst, x-1, y, 0) || y > 0 && v < at(&dst, x, y-1, 0) {
					t.Fatalf("%v: pixel %d,%d (%d) is darker than its left or upper neighbour", s, x, y, v)
				}
			}
		}
	}
}

// refWeights is a float reference for one axis: the weight of each source
// sample in output o (area coverage when shrinking, bilinear with
// half-pixel centres when growing), adding up to 1.
func refWeights(src, dst, o int) map[int]float64 {
	w := map[int]float64{}
	s := float64(src) / float64(dst)
	if src >= dst {
		lo, hi := float64(o)*s, float64(o+1)*s
		for i := int(math.Floor(lo)); float64(i) < hi; i++ {
			if c := math.Min(hi, float64(i+1)) - math.Max(lo, float64(i)); c > 0 {
				w[i] = c / s
			}
		}
		return w
	}
	c := math.Min(math.Max((float64(o)+0.5)*s-0.5, 0), float64(src-1))
	i := int(math.Floor(c))
	f := c - float64(i)
	w[i] += 1 - f
	if f > 0 {
		w[i+1] += f
	}
	return w
}

func TestResizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range resizeSizes {
		if s[0]*s[1] > 10000 {
			continue
		}
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			src := padded(s[0], s[1], func(_, _, _ int) byte { return byte(rng.IntN(256)) })
			var dst frame.Frame
			resizeBGR(&dst, src, s[2], s[3])
			for y := range s[3] {
				wy := refWeights(s[1], s[3], y)
				for x := range s[2] {
					wx := refWeights(s[0], s[2], x)
					for c := range 3 {
						var v float64
						for sy, a := range wy {
							for sx, b := range wx {
								v += a * b * float64(at(src, sx, sy, c))
							}
						}
						// Rounded exactly when shrinking; bilinear weights
						// are rounded to 1/2048 more.
						tol := 0.5 + 1e-9
						if s[2] > s[0] || s[3] > s[1] {
							tol += 255.0 / 2048
						}
						if got := float64(at(&dst, x, y, c)); math.Abs(got-v) > tol {
							t.Fatalf("pixel %d,%d channel %d: %g, reference %.3f", x, y, c, got, v)
						}
					}
				}
			}
		})
	}
}

func TestResizeReusesDst(t *testing.T) {
	src := padded(64, 48, func(x, y, c int) byte { return byte(x * y * c) })
	var dst frame.Frame
	resizeBGR(&dst, src, 40, 30)
	allocs := testing.AllocsPerRun(10, func() { resizeBGR(&dst, src, 40, 30) })
	if allocs != 0 {
		t.Fatalf("%g allocations per resize, want 0", allocs)
	}
	// A smaller size fits in the same buffer.
	before := &dst.Pix[0]
	resizeBGR(&dst, src, 20, 10)
	if &dst.Pix[0] != before {
		t.Fatal("a smaller resize reallocated dst")
	}
	checkShape(t, &dst, 20, 10, frame.BGR)
}

func TestResizeBadInput(t *testing.T) {
	var dst frame.Frame
	for _, src := range []*frame.Frame{
		{},
		{Width: 4, Height: 4, Stride: 12, Pix: make([]byte, 10)},
		{Width: 4, Height: 4, Stride: 4, Pix: make([]byte, 64)},
	} {
		dst.Pix = append(dst.Pix[:0], 1, 2, 3, 4, 5, 6)
		resizeBGR(&dst, src, 2, 1)
		checkShape(t, &dst, 2, 1, src.Format)
		if [6]byte(dst.Pix) != [6]byte{} {
			t.Fatalf("src %dx%d stride %d: dst %v, want black", src.Width, src.Height, src.Stride, dst.Pix)
		}
	}
	src := padded(2, 2, func(_, _, _ int) byte { return 9 })
	resizeBGR(&dst, src, 0, 0)
	checkShape(t, &dst, 0, 0, frame.BGR)
	resizeBGR(&dst, src, -3, 2)
	checkShape(t, &dst, 0, 2, frame.BGR)
}

func TestDivider(t *testing.T) {
	for _, d := range []uint64{1, 2, 3, 7, 1280, 1 << 11, 3 << 22, 1<<28 - 1, 1 << 28, 1<<36 + 5} {
		dv := newDivider(d)
		for _, v := range []uint64{0, 1, d / 2, d - 1, d, 3*d + d/2, 255 * d, 255*d + d/2, 255*d + d - 1} {
			want := min((v+d/2)/d, 255)
			if got := dv.round(v); uint64(got) != want {
				t.Fatalf("round(%d / %d) = %d, want %d", v, d, got, want)
			}
		}
	}
}

func BenchmarkResize1280x720To640x480(b *testing.B) {
	src := padded(1280, 720, func(x, y, c int) byte { return byte(x ^ y + c) })
	var dst frame.Frame
	b.ReportAllocs()
	for b.Loop() {
		resizeBGR(&dst, src, 640, 480)
	}
}
