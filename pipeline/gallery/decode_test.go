package gallery

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	"facegate/internal/testenv"
)

// testPhoto is 40×20: red in the top-left quadrant, blue elsewhere.
func testPhoto(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			c := color.RGBA{0, 0, 255, 255}
			if x < 20 && y < 10 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func isRed(img image.Image, x, y int) bool {
	r, _, b, _ := img.At(x, y).RGBA()
	return r > b
}

func TestDecodeImageOrientation(t *testing.T) {
	base := testPhoto(t)
	// where the red quadrant's far corner lands, per orientation
	for _, c := range []struct {
		o          uint16
		w, h       int
		redX, redY int // a pixel that must be red (inside the moved quadrant)
	}{
		{1, 40, 20, 2, 2},
		{2, 40, 20, 37, 2},
		{3, 40, 20, 37, 17},
		{4, 40, 20, 2, 17},
		{5, 20, 40, 2, 2},
		{6, 20, 40, 17, 2}, // rotated clockwise: top-left goes top-right
		{7, 20, 40, 17, 37},
		{8, 20, 40, 2, 37}, // counter-clockwise: top-left goes bottom-left
	} {
		for _, bo := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			img, err := DecodeImage(bytes.NewReader(testenv.WithOrientation(base, c.o, bo)))
			if err != nil {
				t.Fatalf("orientation %d: %v", c.o, err)
			}
			b := img.Bounds()
			if b.Dx() != c.w || b.Dy() != c.h {
				t.Fatalf("orientation %d: %v, want %d×%d", c.o, b, c.w, c.h)
			}
			if !isRed(img, c.redX, c.redY) {
				t.Errorf("orientation %d (%v): (%d,%d) not red", c.o, bo, c.redX, c.redY)
			}
			reds := 0
			for y := 0; y < c.h; y++ {
				for x := 0; x < c.w; x++ {
					if isRed(img, x, y) {
						reds++
					}
				}
			}
			if reds < 180 || reds > 220 { // one quadrant of 800 pixels
				t.Errorf("orientation %d: %d red pixels", c.o, reds)
			}
		}
	}
}

func TestDecodeImageRefuses(t *testing.T) {
	var png1 bytes.Buffer
	if err := png.Encode(&png1, image.NewGray(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	if img, err := DecodeImage(&png1); err != nil || img.Bounds().Dx() != 3 {
		t.Fatalf("png: %v", err)
	}
	// a header claiming 100000×100000 pixels is refused before decoding
	var huge bytes.Buffer
	_ = png.Encode(&huge, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := huge.Bytes()
	binary.BigEndian.PutUint32(b[16:], 100000)
	binary.BigEndian.PutUint32(b[20:], 100000)
	for name, data := range map[string][]byte{
		"text":      []byte("hello"),
		"empty":     nil,
		"huge":      b,
		"truncated": testPhoto(t)[:100],
		"oversize":  make([]byte, MaxImageBytes+1),
	} {
		if _, err := DecodeImage(bytes.NewReader(data)); !errors.Is(err, ErrBadImage) {
			t.Errorf("%s: %v, want ErrBadImage", name, err)
		}
	}
}
