package pipeline

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"image"
	"image/jpeg"
	"strconv"
	"time"

	"facegate/pipeline/frame"
)

// cropThumb copies the face box of f, widened by a quarter on each side,
// into dst as packed RGB scaled (nearest neighbour) to at most thumbSide
// pixels a side. It reuses dst's capacity.
func cropThumb(f *frame.Frame, b frame.Box, dst []byte) (int, int, []byte) {
	mx, my := b.W/4, b.H/4
	x0 := max(int(b.X-mx), 0)
	y0 := max(int(b.Y-my), 0)
	x1 := min(int(b.X+b.W+mx), f.Width)
	y1 := min(int(b.Y+b.H+my), f.Height)
	sw, sh := x1-x0, y1-y0
	if sw <= 0 || sh <= 0 {
		return 0, 0, dst[:0]
	}
	scale := max(float32(sw), float32(sh)) / thumbSide
	scale = max(scale, 1)
	w, h := max(int(float32(sw)/scale), 1), max(int(float32(sh)/scale), 1)
	if cap(dst) < 3*w*h {
		dst = make([]byte, 3*w*h)
	}
	dst = dst[:3*w*h]
	ri, bi := 0, 2
	if f.Format == frame.BGR {
		ri, bi = 2, 0
	}
	for y := range h {
		sy := y0 + min(int(float32(y)*scale), sh-1)
		row := f.Pix[sy*f.Stride:]
		for x := range w {
			sx := x0 + min(int(float32(x)*scale), sw-1)
			p := row[3*sx : 3*sx+3]
			o := dst[3*(y*w+x):]
			o[0], o[1], o[2] = p[ri], p[1], p[bi]
		}
	}
	return w, h, dst
}

// encodeThumb encodes packed RGB as JPEG.
func encodeThumb(rgb []byte, w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(img.Pix[4*i:4*i+3], rgb[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// newEventID returns a unique id that sorts by time: the capture time in
// hex nanoseconds and 4 random bytes.
func newEventID(t time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strconv.FormatInt(t.UnixNano(), 16) + "-" + hex.EncodeToString(b[:])
}

// encodeAligned encodes an aligned face (AlignedSize² packed RGB) as JPEG.
func encodeAligned(rgb []byte) ([]byte, error) {
	if len(rgb) != AlignedSize*AlignedSize*3 {
		return nil, errors.New("pipeline: aligned face of the wrong size")
	}
	return encodeThumb(rgb, AlignedSize, AlignedSize)
}
