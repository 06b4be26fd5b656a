package mqtt

import (
	"facegate/pipeline/annotate"

	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"

	"facegate/pipeline/frame"
)

func fontOrSkip(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(DefaultFontPath); err != nil {
		t.Skipf("font %s absent (Debian package fonts-nanum): %v", DefaultFontPath, err)
	}
	return DefaultFontPath
}

// TestFontCoversHangul: the default font has glyphs for the names we draw.
func TestFontCoversHangul(t *testing.T) {
	data, err := os.ReadFile(fontOrSkip(t))
	if err != nil {
		t.Fatal(err)
	}
	f, err := opentype.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	for _, r := range "김민수이영희unknown" {
		if gi, err := f.GlyphIndex(&buf, r); err != nil || gi == 0 {
			t.Errorf("no glyph for %q (%v)", r, err)
		}
	}
}

func grey(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0x60
	}
	return img
}

func decodeJPEG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// whiteIn counts near-white pixels (the text colour) in r.
func whiteIn(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if c.R > 0x90 && c.G > 0x90 && c.B > 0x90 {
				n++
			}
		}
	}
	return n
}

// diff counts pixels of r that differ clearly between two images.
func diff(a, b image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.RGBAModel.Convert(a.At(x, y)).(color.RGBA)
			cb := color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
			if absDiff(ca.R, cb.R)+absDiff(ca.G, cb.G)+absDiff(ca.B, cb.B) > 120 {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// TestSnapshotDrawsHangul: names are drawn in a tag above the box, two
// different Korean names give different pixels (real glyphs, not the same
// missing-glyph boxes), and the box is drawn in the known colour.
func TestSnapshotDrawsHangul(t *testing.T) {
	p := annotate.NewPainter(fontOrSkip(t), slog.New(slog.DiscardHandler))
	box := frame.Box{X: 100, Y: 120, W: 100, H: 90}
	render := func(name string) image.Image {
		jpg, err := p.Render(grey(640, 480), []Label{{Box: box, Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		return decodeJPEG(t, jpg)
	}
	a, b := render("김민수"), render("이영희")
	tag := image.Rect(100, 80, 260, 120) // above the box, where the name goes
	t.Logf("text pixels %d, differing %d", whiteIn(a, tag), diff(a, b, tag))
	if n := whiteIn(a, tag); n < 30 {
		t.Fatalf("only %d text pixels in the name tag", n)
	}
	if n := diff(a, b, tag); n < 30 {
		t.Fatalf("two different Hangul names render alike (%d pixels differ): glyphs missing?", n)
	}
	c := color.RGBAModel.Convert(a.At(int(box.X)+1, int(box.Y+box.H/2))).(color.RGBA)
	if c.G < 0x90 || c.R > 0x80 {
		t.Fatalf("box edge colour %v, want green", c)
	}
	// Below the box nothing was drawn.
	if n := whiteIn(a, image.Rect(100, 230, 260, 400)); n != 0 {
		t.Fatalf("%d stray text pixels below the box", n)
	}
}

// captureHandler counts warnings.
type captureHandler struct {
	mu    sync.Mutex
	warns int
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		h.mu.Lock()
		h.warns++
		h.mu.Unlock()
	}
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

// TestSnapshotWithoutFont: with no font the boxes are still drawn, no name
// is, and that is logged once, not per snapshot.
func TestSnapshotWithoutFont(t *testing.T) {
	h := &captureHandler{}
	p := annotate.NewPainter(filepath.Join(t.TempDir(), "missing.ttf"), slog.New(h))
	box := frame.Box{X: 100, Y: 120, W: 100, H: 90}
	var img image.Image
	for range 3 {
		jpg, err := p.Render(grey(480, 320), []Label{{Box: box, Name: "김민수"}, {Box: frame.Box{X: 300, Y: 100, W: 60, H: 60}}})
		if err != nil {
			t.Fatal(err)
		}
		img = decodeJPEG(t, jpg)
	}
	if h.warns != 1 {
		t.Fatalf("%d warnings for a missing font, want 1", h.warns)
	}
	if n := whiteIn(img, image.Rect(100, 60, 260, 120)); n != 0 {
		t.Fatalf("%d text pixels without a font", n)
	}
	known := color.RGBAModel.Convert(img.At(101, 165)).(color.RGBA)
	unknown := color.RGBAModel.Convert(img.At(301, 130)).(color.RGBA)
	if known.G < 0x90 || known.R > 0x80 || unknown.R < 0xc0 || unknown.B > 0x60 {
		t.Fatalf("box colours known %v unknown %v", known, unknown)
	}
}

// TestThumbCanvas: a face box mapped into the pipeline's thumbnail (box
// widened by a quarter, clamped to the frame, scaled to at most 128) lands
// on the face, also when the crop was clamped at a frame edge.
func TestThumbCanvas(t *testing.T) {
	for _, c := range []struct {
		name string
		box  frame.Box
		// corner: the crop was clamped at both far edges, which the
		// thumbnail cannot tell; the box is then drawn inside the face
		// but may be smaller than it.
		corner bool
	}{
		{"middle", frame.Box{X: 200, Y: 150, W: 160, H: 200}, false},
		{"left top edge", frame.Box{X: 10, Y: 5, W: 120, H: 120}, false},
		{"right edge", frame.Box{X: 540, Y: 200, W: 90, H: 130}, false},
		{"right bottom corner", frame.Box{X: 520, Y: 380, W: 110, H: 95}, true},
		{"small", frame.Box{X: 300, Y: 200, W: 40, H: 40}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			const fw, fh = 640, 480
			full := grey(fw, fh)
			red := color.RGBA{0xff, 0, 0, 0xff}
			for y := int(c.box.Y); y < int(c.box.Y+c.box.H); y++ {
				for x := int(c.box.X); x < int(c.box.X+c.box.W); x++ {
					full.Set(x, y, red)
				}
			}
			thumb := cropLikePipeline(full, c.box)
			img, b, err := thumbCanvas(thumb, c.box)
			if err != nil {
				t.Fatal(err)
			}
			if s := img.Bounds(); min(s.Dx(), s.Dy()) < thumbSide-1 {
				t.Fatalf("canvas %v not enlarged", s)
			}
			isRed := func(x, y float32) bool {
				col := color.RGBAModel.Convert(img.At(int(x), int(y))).(color.RGBA)
				return col.R > 0xc0 && col.G < 0x50
			}
			in := [][2]float32{{b.X + b.W/2, b.Y + b.H/2}, {b.X + b.W*0.1, b.Y + b.H*0.1}, {b.X + b.W*0.9, b.Y + b.H*0.9}}
			for _, p := range in {
				if !isRed(p[0], p[1]) {
					t.Errorf("inside the mapped box at %v: not the face (box %+v)", p, b)
				}
			}
			out := [][2]float32{{b.X - b.W*0.1, b.Y + b.H/2}, {b.X + b.W/2, b.Y - b.H*0.1}, {b.X + b.W*1.1, b.Y + b.H/2}, {b.X + b.W/2, b.Y + b.H*1.1}}
			for _, p := range out {
				if c.corner {
					break
				}
				if p[0] >= 0 && p[1] >= 0 && int(p[0]) < img.Bounds().Dx() && int(p[1]) < img.Bounds().Dy() && isRed(p[0], p[1]) {
					t.Errorf("outside the mapped box at %v: still the face (box %+v)", p, b)
				}
			}
		})
	}
}

// cropLikePipeline makes a thumbnail the way pipeline's cropThumb does:
// the box widened by a quarter on each side, clamped, scaled (nearest
// neighbour) to at most 128 pixels a side, JPEG.
func cropLikePipeline(f *image.RGBA, b frame.Box) []byte {
	mx, my := b.W/4, b.H/4
	x0, y0 := max(int(b.X-mx), 0), max(int(b.Y-my), 0)
	x1, y1 := min(int(b.X+b.W+mx), f.Bounds().Dx()), min(int(b.Y+b.H+my), f.Bounds().Dy())
	sw, sh := x1-x0, y1-y0
	scale := max(max(float32(sw), float32(sh))/128, 1)
	w, h := max(int(float32(sw)/scale), 1), max(int(float32(sh)/scale), 1)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			dst.Set(x, y, f.At(x0+min(int(float32(x)*scale), sw-1), y0+min(int(float32(y)*scale), sh-1)))
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

// TestFrameImage: a BGR frame reads as the right colours.
func TestFrameImage(t *testing.T) {
	f := frame.Frame{Pix: []byte{1, 2, 3, 4, 5, 6, 0, 0}, Width: 2, Height: 1, Stride: 8, Format: frame.BGR}
	img := FrameImage(f)
	if c := img.At(1, 0).(color.RGBA); c != (color.RGBA{6, 5, 4, 255}) {
		t.Fatalf("BGR pixel %v", c)
	}
	f.Format = frame.RGB
	if c := FrameImage(f).At(0, 0).(color.RGBA); c != (color.RGBA{1, 2, 3, 255}) {
		t.Fatalf("RGB pixel %v", c)
	}
	if c := img.At(5, 5).(color.RGBA); c != (color.RGBA{}) {
		t.Fatalf("outside pixel %v", c)
	}
}
