// Package facenet turns detected faces into MobileFaceNet embeddings: it
// aligns a face onto the ArcFace 112×112 template with a least-squares
// similarity transform of its keypoints, runs the model and L2-normalises
// the result. It also rates a face's quality for enrollment and compares
// embeddings.
package facenet

import (
	"errors"
	"image"
	"image/color"
	"math"

	"facegate/pipeline/frame"
)

// Size is the side of an aligned face in pixels (the model input).
const Size = 112

// template holds the ArcFace 112×112 positions of the keypoints used for
// alignment, in BlazeFace's keypoint order: image-left eye (the subject's
// right), image-right eye, nose tip, and the mean of the two mouth corners
// (BlazeFace gives the mouth centre, not its corners).
var template = [4][2]float64{
	{38.2946, 51.6963},
	{73.5318, 51.5014},
	{56.0252, 71.7366},
	{(41.5493 + 70.7299) / 2, (92.3655 + 92.2041) / 2},
}

// alignKeypoints are the BlazeFace keypoints matched to template.
var alignKeypoints = [4]int{frame.RightEye, frame.LeftEye, frame.NoseTip, frame.Mouth}

// Transform is a similarity transform, dst = [[A −B] [B A]]·src + [TX TY],
// from source pixel indices to aligned-face pixel indices.
type Transform struct{ A, B, TX, TY float64 }

// Apply maps a source point.
func (t Transform) Apply(x, y float64) (float64, float64) {
	return t.A*x - t.B*y + t.TX, t.B*x + t.A*y + t.TY
}

// Scale is the transform's zoom factor (aligned pixels per source pixel).
func (t Transform) Scale() float64 { return math.Hypot(t.A, t.B) }

// ErrDegenerate reports keypoints that cannot define an alignment (all at
// one place, or not finite).
var ErrDegenerate = errors.New("facenet: degenerate keypoints")

// Estimate returns the least-squares similarity transform (rotation,
// uniform scale, translation; no reflection — Umeyama's method restricted
// to 2-D) taking the face's eyes, nose tip and mouth onto the template.
// Keypoints are in continuous pixel coordinates (a pixel's centre is at
// +0.5); the transform works on pixel indices, as the template does.
func Estimate(f frame.Face) (Transform, error) {
	var src [4][2]float64
	var mx, my, tx, ty float64
	for i, k := range alignKeypoints {
		src[i] = [2]float64{float64(f.Keypoints[k].X) - 0.5, float64(f.Keypoints[k].Y) - 0.5}
		mx += src[i][0]
		my += src[i][1]
		tx += template[i][0]
		ty += template[i][1]
	}
	n := float64(len(src))
	mx, my, tx, ty = mx/n, my/n, tx/n, ty/n
	var a, b, v float64
	for i := range src {
		px, py := src[i][0]-mx, src[i][1]-my
		qx, qy := template[i][0]-tx, template[i][1]-ty
		a += px*qx + py*qy
		b += px*qy - py*qx
		v += px*px + py*py
	}
	if !(v > 1e-9) || math.IsInf(v, 0) {
		return Transform{}, ErrDegenerate
	}
	t := Transform{A: a / v, B: b / v}
	t.TX = tx - (t.A*mx - t.B*my)
	t.TY = ty - (t.B*mx + t.A*my)
	return t, nil
}

// Aligned is a face warped onto the 112×112 template: packed RGB bytes,
// reusable across calls.
type Aligned struct {
	Pix [Size * Size * 3]byte
	T   Transform // the transform from the source image that made it
}

// Image returns a copy of the aligned face as an RGBA image (e.g. for the
// gallery's JPEG thumbnail).
func (a *Aligned) Image() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, Size, Size))
	for i, j := 0, 0; i < len(a.Pix); i, j = i+3, j+4 {
		img.Pix[j], img.Pix[j+1], img.Pix[j+2], img.Pix[j+3] = a.Pix[i], a.Pix[i+1], a.Pix[i+2], 255
	}
	return img
}

// source is a packed 8-bit image to sample from; at is the slow path for
// images that are not packed.
type source struct {
	pix             []byte
	w, h, stride    int
	bpp, ro, gO, bO int
	at              func(x, y int) (r, g, b byte)
}

func imageSource(img image.Image) source {
	bnd := img.Bounds()
	s := source{w: bnd.Dx(), h: bnd.Dy()}
	switch m := img.(type) {
	case *image.RGBA:
		s.pix, s.stride, s.bpp, s.ro, s.gO, s.bO = m.Pix[m.PixOffset(bnd.Min.X, bnd.Min.Y):], m.Stride, 4, 0, 1, 2
	case *image.NRGBA:
		s.pix, s.stride, s.bpp, s.ro, s.gO, s.bO = m.Pix[m.PixOffset(bnd.Min.X, bnd.Min.Y):], m.Stride, 4, 0, 1, 2
	case *image.Gray:
		s.pix, s.stride, s.bpp = m.Pix[m.PixOffset(bnd.Min.X, bnd.Min.Y):], m.Stride, 1
	case *image.YCbCr:
		s.at = func(x, y int) (byte, byte, byte) {
			x, y = x+bnd.Min.X, y+bnd.Min.Y
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			return color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
		}
	default:
		s.at = func(x, y int) (byte, byte, byte) {
			r, g, b, _ := img.At(x+bnd.Min.X, y+bnd.Min.Y).RGBA()
			return byte(r >> 8), byte(g >> 8), byte(b >> 8)
		}
	}
	return s
}

func frameSource(f *frame.Frame) (source, error) {
	if f == nil || f.Width <= 0 || f.Height <= 0 || f.Stride < 3*f.Width ||
		len(f.Pix) < f.Stride*(f.Height-1)+3*f.Width {
		return source{}, errors.New("facenet: malformed frame")
	}
	s := source{pix: f.Pix, w: f.Width, h: f.Height, stride: f.Stride, bpp: 3, ro: 0, gO: 1, bO: 2}
	if f.Format == frame.BGR {
		s.ro, s.bO = 2, 0
	}
	return s, nil
}

func (s *source) rgb(x, y int) (float32, float32, float32) {
	if s.at != nil {
		r, g, b := s.at(x, y)
		return float32(r), float32(g), float32(b)
	}
	o := y*s.stride + x*s.bpp
	return float32(s.pix[o+s.ro]), float32(s.pix[o+s.gO]), float32(s.pix[o+s.bO])
}

// Align warps the face in img onto the template into dst (allocated when
// nil) and returns it.
func Align(img image.Image, f frame.Face, dst *Aligned) (*Aligned, error) {
	if img.Bounds().Empty() {
		return nil, errors.New("facenet: empty image")
	}
	s := imageSource(img)
	return warp(&s, f, dst)
}

// AlignFrame is Align for a packed RGB/BGR frame; with a reused dst it does
// not allocate.
func AlignFrame(fr *frame.Frame, f frame.Face, dst *Aligned) (*Aligned, error) {
	s, err := frameSource(fr)
	if err != nil {
		return nil, err
	}
	return warp(&s, f, dst)
}

// warp samples the source bilinearly at the inverse-transformed position
// of each aligned pixel; neighbours outside the image count as black.
func warp(s *source, f frame.Face, dst *Aligned) (*Aligned, error) {
	t, err := Estimate(f)
	if err != nil {
		return nil, err
	}
	if dst == nil {
		dst = new(Aligned)
	}
	dst.T = t
	d := t.A*t.A + t.B*t.B
	ia, ib := t.A/d, t.B/d // inverse rotation-scale: [[ia ib] [−ib ia]]
	o := 0
	for v := 0; v < Size; v++ {
		// The source position moves by (ia, −ib) per aligned pixel.
		qy := float64(v) - t.TY
		x := -ia*t.TX + ib*qy
		y := ib*t.TX + ia*qy
		for u := 0; u < Size; u++ {
			var r, g, b float32
			if s.at == nil && x >= 0 && y >= 0 && x < float64(s.w-1) && y < float64(s.h-1) {
				r, g, b = s.inside(x, y)
			} else {
				r, g, b = s.bilinear(x, y)
			}
			dst.Pix[o] = clampByte(r)
			dst.Pix[o+1] = clampByte(g)
			dst.Pix[o+2] = clampByte(b)
			o += 3
			x += ia
			y -= ib
		}
	}
	return dst, nil
}

// inside is bilinear for a packed source when all four neighbours are in
// the image (the common case).
func (s *source) inside(x, y float64) (float32, float32, float32) {
	x0, y0 := int(x), int(y)
	wx, wy := float32(x-float64(x0)), float32(y-float64(y0))
	p := s.pix[y0*s.stride+x0*s.bpp:]
	q := s.pix[(y0+1)*s.stride+x0*s.bpp:]
	n := s.bpp
	w00, w01, w10, w11 := (1-wx)*(1-wy), wx*(1-wy), (1-wx)*wy, wx*wy
	ch := func(c int) float32 {
		return w00*float32(p[c]) + w01*float32(p[n+c]) + w10*float32(q[c]) + w11*float32(q[n+c])
	}
	return ch(s.ro), ch(s.gO), ch(s.bO)
}

func (s *source) bilinear(x, y float64) (float32, float32, float32) {
	if !(x > -1 && y > -1 && x < float64(s.w) && y < float64(s.h)) {
		return 0, 0, 0
	}
	fx, fy := math.Floor(x), math.Floor(y)
	x0, y0 := int(fx), int(fy)
	wx, wy := float32(x-fx), float32(y-fy)
	var r, g, b float32
	add := func(xi, yi int, w float32) {
		if w == 0 || xi < 0 || yi < 0 || xi >= s.w || yi >= s.h {
			return
		}
		pr, pg, pb := s.rgb(xi, yi)
		r += w * pr
		g += w * pg
		b += w * pb
	}
	add(x0, y0, (1-wx)*(1-wy))
	add(x0+1, y0, wx*(1-wy))
	add(x0, y0+1, (1-wx)*wy)
	add(x0+1, y0+1, wx*wy)
	return r, g, b
}

func clampByte(v float32) byte {
	v += 0.5
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return byte(v)
}
