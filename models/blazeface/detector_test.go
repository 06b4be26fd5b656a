package blazeface

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"facegate/pipeline/frame"
)

// testPhoto returns a development photo with one face, or skips.
func testPhoto(t testing.TB) image.Image {
	t.Helper()
	img, err := loadImage(sharedPath(t, "testdata/faces/Jack_Dorsey/1.jpg"))
	if err != nil {
		t.Skipf("test photo absent: %v", err)
	}
	return img
}

// toFrame packs an image into a frame with padding at the end of each row.
func toFrame(img image.Image, format frame.Format) *frame.Frame {
	b := img.Bounds()
	f := &frame.Frame{Width: b.Dx(), Height: b.Dy(), Stride: 3*b.Dx() + 5, Format: format}
	f.Pix = make([]byte, f.Stride*f.Height)
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			p := f.Pix[y*f.Stride+3*x:]
			if format == frame.BGR {
				p[0], p[1], p[2] = byte(bb>>8), byte(g>>8), byte(r>>8)
			} else {
				p[0], p[1], p[2] = byte(r>>8), byte(g>>8), byte(bb>>8)
			}
		}
	}
	return f
}

func sameFaces(t *testing.T, name string, a, b []frame.Face) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d faces vs %d", name, len(a), len(b))
	}
	for i := range a {
		if a[i].Box.IoU(b[i].Box) < 0.999 || math.Abs(float64(a[i].Score-b[i].Score)) > 1e-5 {
			t.Errorf("%s: face %d %+v vs %+v", name, i, a[i], b[i])
		}
	}
}

func TestImageTypesAgree(t *testing.T) {
	photo := testPhoto(t)
	d := newDetector(t, "short")
	ref, err := d.DetectImage(photo)
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != 1 {
		t.Fatalf("%d faces in a one-face photo", len(ref))
	}
	b := photo.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, photo, b.Min, draw.Src)
	nrgba := image.NewNRGBA(b)
	draw.Draw(nrgba, b, photo, b.Min, draw.Src)
	// A sub-image with a non-zero origin: coordinates are relative to it.
	big := image.NewRGBA(image.Rect(-10, -20, b.Dx()+30, b.Dy()+40))
	draw.Draw(big, big.Bounds(), image.NewUniform(color.RGBA{200, 10, 10, 255}), image.Point{}, draw.Src)
	draw.Draw(big, b.Add(image.Pt(5, 7)), photo, b.Min, draw.Src)
	sub := big.SubImage(b.Add(image.Pt(5, 7)))
	rgba64 := image.NewRGBA64(b) // the generic path
	draw.Draw(rgba64, b, photo, b.Min, draw.Src)
	for name, img := range map[string]image.Image{"rgba": rgba, "nrgba": nrgba, "subimage": sub, "rgba64": rgba64} {
		got, err := d.DetectImage(img)
		if err != nil {
			t.Fatal(err)
		}
		sameFaces(t, name, ref, got)
	}
	for _, format := range []frame.Format{frame.RGB, frame.BGR} {
		got, err := d.Detect(toFrame(rgba, format), nil)
		if err != nil {
			t.Fatal(err)
		}
		sameFaces(t, format.String(), ref, got)
	}
	// Gray expands to R = G = B: the same as an RGB image of its grey.
	gray := image.NewGray(b)
	draw.Draw(gray, b, photo, b.Min, draw.Src)
	grayRGB := image.NewRGBA(b)
	draw.Draw(grayRGB, b, gray, b.Min, draw.Src)
	g1, err := d.DetectImage(gray)
	if err != nil {
		t.Fatal(err)
	}
	g2, _ := d.DetectImage(grayRGB)
	sameFaces(t, "gray", g2, g1)
	if len(g1) != 1 {
		t.Errorf("gray photo: %d faces", len(g1))
	}
}

func TestDetectErrors(t *testing.T) {
	d := newDetector(t, "short")
	for name, f := range map[string]*frame.Frame{
		"nil":        nil,
		"empty":      {},
		"short pix":  {Width: 10, Height: 10, Stride: 30, Pix: make([]byte, 200)},
		"bad stride": {Width: 10, Height: 10, Stride: 20, Pix: make([]byte, 300)},
		"format":     {Width: 1, Height: 1, Stride: 3, Pix: make([]byte, 3), Format: 9},
	} {
		if _, err := d.Detect(f, nil); err == nil {
			t.Errorf("%s frame: no error", name)
		}
	}
	if _, err := d.DetectImage(image.NewRGBA(image.Rect(0, 0, 0, 5))); err == nil {
		t.Error("empty image: no error")
	}
	if _, err := New(Options{Model: "medium"}); err == nil {
		t.Error("unknown model: no error")
	}
	if _, err := New(Options{MinScore: 1.5}); err == nil {
		t.Error("min score 1.5: no error")
	}
	d.Close()
	d.Close()
	if _, err := d.Detect(&frame.Frame{Width: 1, Height: 1, Stride: 3, Pix: make([]byte, 3)}, nil); err != ErrClosed {
		t.Errorf("closed detector: %v", err)
	}
}

func TestMinScore(t *testing.T) {
	photo := testPhoto(t)
	d, err := New(Options{MinScore: 0.999})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	faces, err := d.DetectImage(photo)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range faces {
		if f.Score < 0.999 {
			t.Errorf("face with score %v under the minimum", f.Score)
		}
	}
}

// frame640 is a 640×480 BGR camera frame with the test photo in it.
func frame640(t testing.TB) *frame.Frame {
	photo := testPhoto(t)
	canvas := image.NewRGBA(image.Rect(0, 0, 640, 480))
	draw.Draw(canvas, canvas.Bounds(), photo, photo.Bounds().Min, draw.Src)
	return toFrame(canvas, frame.BGR)
}

func TestDetectZeroAlloc(t *testing.T) {
	f := frame640(t)
	d := newDetector(t, "short")
	dst := make([]frame.Face, 0, 8)
	dst, err := d.Detect(f, dst)
	if err != nil || len(dst) == 0 {
		t.Fatalf("faces %v, err %v", dst, err)
	}
	if n := testing.AllocsPerRun(5, func() { dst, _ = d.Detect(f, dst) }); n != 0 {
		t.Errorf("Detect allocates %v times per frame", n)
	}
}

func benchDetect(b *testing.B, model string, threads int) {
	f := frame640(b)
	d, err := New(Options{Model: model, Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	dst := make([]frame.Face, 0, 8)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if dst, err = d.Detect(f, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetect640 is letterbox + resize + BlazeFace + decode + NMS on a
// 640×480 BGR frame.
func BenchmarkDetect640(b *testing.B) {
	b.Run("short/1thread", func(b *testing.B) { benchDetect(b, "short", 1) })
	b.Run("short/2threads", func(b *testing.B) { benchDetect(b, "short", 2) })
	b.Run("full/1thread", func(b *testing.B) { benchDetect(b, "full", 1) })
	b.Run("full/2threads", func(b *testing.B) { benchDetect(b, "full", 2) })
}

// BenchmarkLetterbox is the preprocessing alone.
func BenchmarkLetterbox(b *testing.B) {
	f := frame640(b)
	var lb letterbox
	dst := make([]float32, 128*128*3)
	b.ReportAllocs()
	for b.Loop() {
		lb.setup(f.Width, f.Height, 128)
		lb.fillRGB(dst, f.Pix, f.Stride, 3, 2, 1, 0)
	}
}

// TestNoFace: of the photos without people, only the husky is a face, for
// both models, as MediaPipe finds too.
func TestNoFace(t *testing.T) {
	paths, _ := filepath.Glob(sharedPath(t, "testdata/faces/_noface/*.jpg"))
	if len(paths) == 0 {
		t.Skip("no _noface photos")
	}
	for _, model := range []string{"short", "full"} {
		d := newDetector(t, model)
		for _, p := range paths {
			img, err := loadImage(p)
			if err != nil {
				t.Fatal(err)
			}
			faces, err := d.DetectImage(img)
			if err != nil {
				t.Fatal(err)
			}
			husky := strings.Contains(p, "husky")
			switch {
			case husky && len(faces) != 1:
				t.Errorf("%s %s: %d faces, MediaPipe finds the husky's", model, filepath.Base(p), len(faces))
			case !husky && len(faces) != 0:
				t.Errorf("%s %s: %d faces (best %.2f), want none", model, filepath.Base(p), len(faces), faces[0].Score)
			case husky:
				t.Logf("%s: the husky scores %.2f", model, faces[0].Score)
			}
		}
	}
}

func TestThreadsAgree(t *testing.T) {
	photo := testPhoto(t)
	one := newDetector(t, "short")
	two, err := New(Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	a, err := one.DetectImage(photo)
	if err != nil {
		t.Fatal(err)
	}
	b, err := two.DetectImage(photo)
	if err != nil {
		t.Fatal(err)
	}
	sameFaces(t, "2 threads", a, b)
}
