package camera

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"facegate/internal/testenv"
	"facegate/pipeline/frame"
)

// writeFile writes data to a temporary file called name.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readStillOnce opens a still and reads its one frame, checking that a
// second read ends it.
func readStillOnce(t *testing.T, p string) *frame.Frame {
	t.Helper()
	c, err := openStill(context.Background(), spec{kind: Image, target: p}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if c.fps() != 1 {
		t.Fatalf("fps %g, want 1", c.fps())
	}
	var f frame.Frame
	if err := c.read(&f); err != nil {
		t.Fatal(err)
	}
	if f.Format != frame.BGR || f.Stride != 3*f.Width || len(f.Pix) != f.Stride*f.Height {
		t.Fatalf("frame %dx%d stride %d len %d format %v", f.Width, f.Height, f.Stride, len(f.Pix), f.Format)
	}
	var again frame.Frame
	if err := c.read(&again); !errors.Is(err, io.EOF) {
		t.Fatalf("second read: %v, want io.EOF", err)
	}
	return &f
}

// palette4 are colours whose BGR bytes the tests know exactly.
var palette4 = []color.NRGBA{{255, 0, 0, 255}, {0, 200, 0, 255}, {10, 20, 250, 255}, {123, 45, 67, 255}}

// checkerNRGBA is a 7×5 image cycling through palette4.
func checkerNRGBA() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for y := range 5 {
		for x := range 7 {
			img.SetNRGBA(x, y, palette4[(x+2*y)%4])
		}
	}
	return img
}

// checkPalette4 checks f is checkerNRGBA's pixels, exactly, as BGR.
func checkPalette4(t *testing.T, f *frame.Frame) {
	t.Helper()
	if f.Width != 7 || f.Height != 5 {
		t.Fatalf("frame %dx%d, want 7x5", f.Width, f.Height)
	}
	for y := range 5 {
		for x := range 7 {
			c := palette4[(x+2*y)%4]
			want := [3]byte{c.B, c.G, c.R}
			if got := [3]byte(f.Pix[y*f.Stride+3*x:]); got != want {
				t.Fatalf("pixel %d,%d: BGR %v, want %v", x, y, got, want)
			}
		}
	}
}

func TestStillLosslessFormats(t *testing.T) {
	img := checkerNRGBA()
	pal := image.NewPaletted(img.Bounds(), color.Palette{palette4[0], palette4[1], palette4[2], palette4[3]})
	for y := range 5 {
		for x := range 7 {
			pal.SetColorIndex(x, y, uint8((x+2*y)%4))
		}
	}
	rgba := image.NewRGBA(img.Bounds())
	rgba64 := image.NewRGBA64(img.Bounds())
	for y := range 5 {
		for x := range 7 {
			rgba.Set(x, y, img.At(x, y))
			rgba64.Set(x, y, img.At(x, y))
		}
	}
	encode := map[string]func(io.Writer) error{
		"nrgba.png":   func(w io.Writer) error { return png.Encode(w, img) },
		"rgba.png":    func(w io.Writer) error { return png.Encode(w, rgba) },
		"rgba64.png":  func(w io.Writer) error { return png.Encode(w, rgba64) },
		"palette.png": func(w io.Writer) error { return png.Encode(w, pal) },
		"a.gif":       func(w io.Writer) error { return gif.Encode(w, pal, nil) },
		"a.bmp":       func(w io.Writer) error { return bmp.Encode(w, rgba) },
		"a.tiff":      func(w io.Writer) error { return tiff.Encode(w, img, nil) },
		"deflate.tif": func(w io.Writer) error { return tiff.Encode(w, rgba, &tiff.Options{Compression: tiff.Deflate}) },
	}
	for name, enc := range encode {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := enc(&b); err != nil {
				t.Fatal(err)
			}
			checkPalette4(t, readStillOnce(t, writeFile(t, name, b.Bytes())))
		})
	}
}

// TestStillAlphaIsDropped: like OpenCV's imread in colour, a translucent
// pixel keeps its colour rather than being blended with black.
func TestStillAlphaIsDropped(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 128})
	img.SetNRGBA(1, 0, color.NRGBA{1, 2, 3, 0})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	f := readStillOnce(t, writeFile(t, "alpha.png", b.Bytes()))
	if got := [6]byte(f.Pix); got != [6]byte{50, 100, 200, 3, 2, 1} {
		t.Fatalf("BGR %v", got)
	}
}

func TestStillGreyJPEG(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 16, 8))
	for i := range img.Pix {
		img.Pix[i] = 77
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	f := readStillOnce(t, writeFile(t, "grey.jpg", b.Bytes()))
	for i, v := range f.Pix {
		if v < 76 || v > 78 {
			t.Fatalf("byte %d is %d, want 77±1", i, v)
		}
	}
}

func TestStillPhotos(t *testing.T) {
	for _, rel := range []string{"faces/Mark_Zuckerberg/1.jpg", "faces/Jeff_Bezos/2.jpg", "faces/_group/bbt1.jpg"} {
		t.Run(rel, func(t *testing.T) {
			p := testdata(t, rel)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			f := readStillOnce(t, p)
			if f.Width != cfg.Width || f.Height != cfg.Height {
				t.Fatalf("frame %dx%d, JPEG %dx%d", f.Width, f.Height, cfg.Width, cfg.Height)
			}
			// The middle pixel is image/jpeg's, in BGR.
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			x, y := f.Width/2, f.Height/2
			r, g, b, _ := img.At(x, y).RGBA()
			want := [3]int{int(b >> 8), int(g >> 8), int(r >> 8)}
			got := f.Pix[y*f.Stride+3*x:]
			if !near([3]int{int(got[0]), int(got[1]), int(got[2])}, want, 2) {
				t.Fatalf("middle pixel %v, image/jpeg says %v", got[:3], want)
			}
		})
	}
}

func TestStillEXIFRotation(t *testing.T) {
	// 48×16: left half red, right half blue.
	img := image.NewRGBA(image.Rect(0, 0, 48, 16))
	for y := range 16 {
		for x := range 48 {
			c := color.RGBA{240, 10, 10, 255}
			if x >= 24 {
				c = color.RGBA{10, 10, 240, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	red, blue := [3]int{10, 10, 240}, [3]int{240, 10, 10}
	px := func(f *frame.Frame, x, y int) [3]int {
		p := f.Pix[y*f.Stride+3*x:]
		return [3]int{int(p[0]), int(p[1]), int(p[2])}
	}
	tests := []struct {
		o          uint16
		w, h       int
		first, end [3]int // colour at the top-left and bottom-right
	}{
		{1, 48, 16, red, blue},
		{3, 48, 16, blue, red}, // 180°
		{6, 16, 48, red, blue}, // 90° clockwise: the left edge becomes the top
		{8, 16, 48, blue, red}, // 90° anticlockwise: the left edge becomes the bottom
	}
	for _, tt := range tests {
		f := readStillOnce(t, writeFile(t, "rot.jpg", testenv.WithOrientation(b.Bytes(), tt.o, binary.BigEndian)))
		if f.Width != tt.w || f.Height != tt.h {
			t.Fatalf("orientation %d: %dx%d, want %dx%d", tt.o, f.Width, f.Height, tt.w, tt.h)
		}
		if a, z := px(f, 1, 1), px(f, f.Width-2, f.Height-2); !near(a, tt.first, 20) || !near(z, tt.end, 20) {
			t.Fatalf("orientation %d: corners %v and %v, want about %v and %v", tt.o, a, z, tt.first, tt.end)
		}
	}
}

// pngWithSize is a valid small PNG whose header claims w×h.
func pngWithSize(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	ihdr := data[8+8:] // signature, then length and "IHDR"
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	binary.BigEndian.PutUint32(ihdr[13:], crc32.ChecksumIEEE(data[12:8+8+13]))
	return data
}

func TestStillErrors(t *testing.T) {
	var good bytes.Buffer
	if err := png.Encode(&good, checkerNRGBA()); err != nil {
		t.Fatal(err)
	}
	jpg := solidJPEG(t, 16, 16, color.RGBA{1, 2, 3, 255})
	arith := bytes.Clone(jpg) // arithmetic coding: valid, but not Go's
	arith[bytes.Index(arith, []byte{0xff, 0xc0})+1] = 0xc9
	tests := []struct {
		name      string
		data      []byte
		want      string
		notNative bool
	}{
		{"x.pgm", []byte("P5\n2 2\n255\n\x00\x01\x02\x03"), "not decoded in process", true},
		{"x.ppm", []byte("P6\n1 1\n255\n\x00\x01\x02"), "not decoded in process", true},
		{"unknown.png", []byte("this is no image at all"), "not decoded in process", true},
		{"empty.jpg", nil, "not decoded in process", true},
		{"arith.jpg", arith, "JPEG", true},
		{"cut.png", good.Bytes()[:good.Len()/2], "decode PNG", false},
		{"cut.jpg", jpg[:len(jpg)/2], "decode JPEG", false},
		{"corrupt.jpg", brokenHuffman(t, jpg), "decode JPEG", false},
		{"huge.png", pngWithSize(t, 8000, 6000), "megapixel", false},
		{"wide.png", pngWithSize(t, 1<<30, 1), "megapixel", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openStill(context.Background(), spec{kind: Image, target: writeFile(t, tt.name, tt.data)}, Config{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %q", err, tt.want)
			}
			if errors.Is(err, errNotNative) != tt.notNative {
				t.Fatalf("errors.Is(%v, errNotNative) = %v, want %v", err, !tt.notNative, tt.notNative)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := openStill(context.Background(), spec{kind: Image, target: filepath.Join(t.TempDir(), "gone.jpg")}, Config{})
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("error %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("too big a file", func(t *testing.T) {
		p := writeFile(t, "big.png", good.Bytes())
		if err := os.Truncate(p, stillMaxBytes+1); err != nil { // sparse: no disk used
			t.Fatal(err)
		}
		_, err := openStill(context.Background(), spec{kind: Image, target: p}, Config{})
		if err == nil || !strings.Contains(err.Error(), "MiB limit") {
			t.Fatalf("error %v, want the size limit", err)
		}
	})
}

func TestStillThroughCamera(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, checkerNRGBA()); err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, "still.png", b.Bytes())
	c, err := Open(context.Background(), Config{Source: p, Width: 14, Height: 10, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := countFrames(t, c, 14, 10); n != 1 {
		t.Fatalf("%d frames, want 1", n)
	}
}

func BenchmarkStillJPEG(b *testing.B) {
	data, err := os.ReadFile(testdata(b, "faces/Mark_Zuckerberg/1.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	var f frame.Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := decodeStill(&f, data); err != nil {
			b.Fatal(err)
		}
	}
}
