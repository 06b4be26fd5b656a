//go:build cgo && linux

package camera

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"facegate/pipeline/frame"
)

// TestTurboJPEG checks libjpeg-turbo's decoding against image/jpeg's, its
// refusals, a size change, and that steady frames allocate nothing.
func TestTurboJPEG(t *testing.T) {
	var tj turboJPEG
	defer tj.close()
	var dst frame.Frame
	for _, size := range [][2]int{{64, 48}, {160, 120}, {40, 30}} {
		jpg := testJPEG(t, size[0], size[1])
		if err := tj.decode(&dst, jpg); err != nil {
			t.Fatalf("%dx%d: %v", size[0], size[1], err)
		}
		sameAsDecoded(t, &dst, jpg)
	}
	gray := image.NewGray(image.Rect(0, 0, 33, 17))
	for i := range gray.Pix {
		gray.Pix[i] = byte(i * 7)
	}
	var g bytes.Buffer
	if err := jpeg.Encode(&g, gray, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	if err := tj.decode(&dst, g.Bytes()); err != nil {
		t.Fatalf("grey JPEG: %v", err)
	}
	sameAsDecoded(t, &dst, g.Bytes())

	jpg := testJPEG(t, 64, 48)
	for name, bad := range map[string][]byte{
		"empty":     nil,
		"not jpeg":  []byte("definitely not a JPEG image"),
		"truncated": jpg[:len(jpg)*2/3],
		"header":    jpg[:40],
	} {
		if err := tj.decode(&dst, bad); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
	// Still usable after the errors, and allocation-free once sized.
	if err := tj.decode(&dst, jpg); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = tj.decode(&dst, jpg) }); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

// FuzzTurboJPEG feeds libjpeg arbitrary frames through our wrapper: an
// error is fine, a crash or a frame of the wrong size is not.
func FuzzTurboJPEG(f *testing.F) {
	f.Add(testJPEG(f, 16, 8))
	f.Add(testJPEG(f, 16, 8)[:100])
	f.Add(withoutDHT(f, testJPEG(f, 24, 16)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := jpeg.DecodeConfig(bytes.NewReader(b)); err == nil && c.Width*c.Height > 1<<20 {
			return // a huge claimed size costs time, not coverage
		}
		var tj turboJPEG
		defer tj.close()
		var dst frame.Frame
		if err := tj.decode(&dst, b); err != nil {
			return
		}
		if dst.Width < 1 || dst.Height < 1 || len(dst.Pix) != 3*dst.Width*dst.Height {
			t.Fatalf("decoded a %dx%d frame with %d bytes", dst.Width, dst.Height, len(dst.Pix))
		}
	})
}
