package facenet

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"

	"facegate/pipeline/frame"
)

// faceAt returns a face whose alignment keypoints are the template mapped
// through the inverse of a similarity transform with the given scale,
// rotation and offset.
func faceAt(scale, angle, ox, oy float64) frame.Face {
	var f frame.Face
	c, s := math.Cos(angle), math.Sin(angle)
	for i, k := range alignKeypoints {
		x, y := template[i][0], template[i][1]
		sx := scale*(c*x-s*y) + ox
		sy := scale*(s*x+c*y) + oy
		f.Keypoints[k] = frame.Point{X: float32(sx + 0.5), Y: float32(sy + 0.5)}
	}
	f.Score = 0.95
	return f
}

func TestEstimateRecoversSimilarity(t *testing.T) {
	for _, tc := range []struct{ scale, angle, ox, oy float64 }{
		{1, 0, 0, 0},
		{2, 0.3, 100, 50},
		{0.5, -1.2, 7, 300},
	} {
		f := faceAt(tc.scale, tc.angle, tc.ox, tc.oy)
		tr, err := Estimate(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range alignKeypoints {
			x, y := tr.Apply(float64(f.Keypoints[k].X)-0.5, float64(f.Keypoints[k].Y)-0.5)
			if math.Hypot(x-template[i][0], y-template[i][1]) > 1e-3 {
				t.Errorf("%+v: keypoint %d -> (%.3f, %.3f), want %v", tc, k, x, y, template[i])
			}
		}
		if got := tr.Scale(); math.Abs(got-1/tc.scale) > 1e-5 {
			t.Errorf("%+v: scale %v, want %v", tc, got, 1/tc.scale)
		}
	}
	if _, err := Estimate(frame.Face{}); err == nil {
		t.Error("all keypoints at the origin: want ErrDegenerate")
	}
}

func TestAlignWarp(t *testing.T) {
	// A horizontal gradient image; identity alignment copies it.
	img := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 77, 255})
		}
	}
	a, err := Align(img, faceAt(1, 0, 0, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]int{{0, 0}, {50, 60}, {111, 111}} {
		o := (p[1]*Size + p[0]) * 3
		if a.Pix[o] != uint8(p[0]) || a.Pix[o+1] != uint8(p[1]) || a.Pix[o+2] != 77 {
			t.Errorf("pixel %v = %v, want (%d, %d, 77)", p, a.Pix[o:o+3], p[0], p[1])
		}
	}
	// Half the size, offset: aligned pixel u samples source u/2+10.
	b, err := Align(img, faceAt(0.5, 0, 10, 20), a)
	if err != nil || b != a {
		t.Fatalf("reuse: %v %p %p", err, a, b)
	}
	o := (30*Size + 40) * 3
	if got := b.Pix[o]; got != 40/2+10 {
		t.Errorf("scaled pixel red = %d, want %d", got, 40/2+10)
	}
	// Frame path (BGR) gives the same pixels as the image path.
	fr := &frame.Frame{Width: 200, Height: 150, Stride: 600, Format: frame.BGR, Pix: make([]byte, 600*150)}
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			p := fr.Pix[y*600+3*x:]
			p[0], p[1], p[2] = 77, uint8(y), uint8(x)
		}
	}
	c, err := AlignFrame(fr, faceAt(0.7, 0.2, 30, 10), nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := Align(img, faceAt(0.7, 0.2, 30, 10), nil)
	if c.Pix != d.Pix {
		t.Error("frame and image alignments differ")
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = AlignFrame(fr, faceAt(0.7, 0.2, 30, 10), c) }); n != 0 {
		t.Errorf("AlignFrame allocates %v times per call", n)
	}
	if _, err := AlignFrame(&frame.Frame{Width: 10, Height: 10, Stride: 30, Pix: make([]byte, 20)}, faceAt(1, 0, 0, 0), nil); err == nil {
		t.Error("short frame: want an error")
	}
}

func TestAssess(t *testing.T) {
	big := faceAt(4, 0, 0, 0) // eyes 4·35 = 141 px apart
	q := Assess(big, nil)
	if !q.OK || math.Abs(float64(q.EyeDist)-141) > 1 || math.Abs(float64(q.Yaw)) > 3 || math.Abs(float64(q.Roll)) > 1 {
		t.Errorf("frontal large face: %+v", q)
	}
	small := faceAt(0.5, 0, 0, 0) // eyes 17.6 px apart
	if q := Assess(small, nil); q.OK || !strings.Contains(q.Reason, "too small") {
		t.Errorf("small face: %+v", q)
	}
	turned := big
	turned.Keypoints[frame.NoseTip].X += 0.5 * q.EyeDist // tan(yaw) = 1 -> 45°
	if q := Assess(turned, nil); q.OK || !strings.Contains(q.Reason, "turned away") || math.Abs(float64(q.Yaw)-45) > 2 {
		t.Errorf("turned face: %+v", q)
	}
	tilted := faceAt(4, 50*math.Pi/180, 300, 0)
	if q := Assess(tilted, nil); q.OK || math.Abs(float64(q.Roll)-50) > 1 {
		t.Errorf("tilted face: %+v", q)
	}
	// Flat grey crop: no detail at all.
	var flat Aligned
	for i := range flat.Pix {
		flat.Pix[i] = 128
	}
	if q := Assess(big, &flat); q.OK || !strings.Contains(q.Reason, "blurred") {
		t.Errorf("flat crop: %+v", q)
	}
	// A checkerboard is as sharp as it gets.
	var sharp Aligned
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			v := byte(0)
			if (x/2+y/2)%2 == 0 {
				v = 255
			}
			o := (y*Size + x) * 3
			sharp.Pix[o], sharp.Pix[o+1], sharp.Pix[o+2] = v, v, v
		}
	}
	if q := Assess(big, &sharp); !q.OK || q.Score <= 0 {
		t.Errorf("sharp crop: %+v", q)
	}
}

func TestNormalize(t *testing.T) {
	v := []float32{3, 4}
	Normalize(v)
	if math.Abs(float64(v[0])-0.6) > 1e-6 || math.Abs(float64(v[1])-0.8) > 1e-6 {
		t.Errorf("Normalize(3,4) = %v", v)
	}
	z := []float32{0, 0}
	Normalize(z)
	if z[0] != 0 || z[1] != 0 {
		t.Errorf("Normalize(0,0) = %v", z)
	}
}
