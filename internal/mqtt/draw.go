package mqtt

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"

	xdraw "golang.org/x/image/draw"

	"facegate/pipeline/frame"
)

// thumbSide is the short side a thumbnail is enlarged to, so that names
// drawn on it are readable.
const thumbSide = 384

// pipelineThumbSide is the longest side of the pipeline's thumbnails.
const pipelineThumbSide = 128

// thumbCanvas decodes a pipeline thumbnail (the face box widened by a
// quarter on each side, clamped to the frame, scaled down) and returns it
// enlarged, with the face box mapped into it.
func thumbCanvas(thumb []byte, b frame.Box) (image.Image, frame.Box, error) {
	src, err := jpeg.Decode(bytes.NewReader(thumb))
	if err != nil {
		return nil, frame.Box{}, err
	}
	w, h := float32(src.Bounds().Dx()), float32(src.Bounds().Dy())
	if w < 1 || h < 1 || b.W <= 0 || b.H <= 0 {
		return nil, frame.Box{}, errors.New("empty thumbnail or box")
	}
	// The crop's origin is known; its far edges may have been clamped to
	// the frame, which only shrinks them, so the smaller of the two scale
	// estimates is the unclamped, true one.
	x0, y0 := max(b.X-b.W/4, 0), max(b.Y-b.H/4, 0)
	s := min((b.X+b.W*5/4-x0)/w, (b.Y+b.H*5/4-y0)/h)
	if max(w, h) < pipelineThumbSide-1 {
		s = 1 // the pipeline only scales crops larger than its thumbnail size
	}
	s = max(s, 1e-3)
	k := max(1, float32(thumbSide)/min(w, h))
	dst := image.NewRGBA(image.Rect(0, 0, int(w*k), int(h*k)))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	box := frame.Box{X: (b.X - x0) / s * k, Y: (b.Y - y0) / s * k, W: b.W / s * k, H: b.H / s * k}
	return dst, box, nil
}

// FrameImage wraps a packed RGB or BGR frame as an image.Image without
// copying. The caller keeps f.Pix unchanged while the image is in use (hand
// the bridge a copy: Event.Image belongs to the bridge).
func FrameImage(f frame.Frame) image.Image { return frameImage{f} }

type frameImage struct{ f frame.Frame }

// ColorModel is RGBA.
func (i frameImage) ColorModel() color.Model { return color.RGBAModel }

// Bounds is the frame.
func (i frameImage) Bounds() image.Rectangle { return image.Rect(0, 0, i.f.Width, i.f.Height) }

// At reads one packed pixel.
func (i frameImage) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= i.f.Width || y >= i.f.Height {
		return color.RGBA{}
	}
	o := y*i.f.Stride + 3*x
	if o+2 >= len(i.f.Pix) {
		return color.RGBA{}
	}
	p := i.f.Pix[o : o+3 : o+3]
	if i.f.Format == frame.BGR {
		return color.RGBA{p[2], p[1], p[0], 0xff}
	}
	return color.RGBA{p[0], p[1], p[2], 0xff}
}
