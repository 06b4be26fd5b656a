package app

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"sync"
	"sync/atomic"
	"time"

	"facegate/device/camera"
	"facegate/pipeline"
	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

var errNotFound = gallery.ErrNotFound

// tap keeps a copy of a camera's newest frame and result for snapshots and
// the live view. The copy is taken as the pipeline takes each frame (one
// memcpy of ~1 MB at 640×480), so the live view never waits for inference
// of the frame it shows.
type tap struct {
	cam atomic.Pointer[camera.Camera] // device cameras: for state and errors

	mu     sync.Mutex
	last   frame.Frame
	res    pipeline.Result
	hasRes bool
}

// wrap returns src with every frame copied into the tap.
func (t *tap) wrap(src pipeline.Source) pipeline.Source { return tapSource{Source: src, t: t} }

type tapSource struct {
	pipeline.Source
	t *tap
}

func (s tapSource) Next(ctx context.Context) (*frame.Frame, error) {
	f, err := s.Source.Next(ctx)
	if err == nil {
		s.t.put(f)
	}
	return f, err
}

// DecodeTime and Drops pass the wrapped source's figures through, so the
// pipeline's decode stage and drop count stay those of the camera.
func (s tapSource) DecodeTime() time.Duration {
	if dt, ok := s.Source.(interface{ DecodeTime() time.Duration }); ok {
		return dt.DecodeTime()
	}
	return 0
}

// Drops is the wrapped source's count of overwritten frames.
func (s tapSource) Drops() uint64 {
	if dc, ok := s.Source.(interface{ Drops() uint64 }); ok {
		return dc.Drops()
	}
	if cam, ok := s.Source.(*camera.Camera); ok {
		return cam.Stats().Drops
	}
	return 0
}

func (t *tap) put(f *frame.Frame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	copyFrame(&t.last, f)
}

func copyFrame(dst, f *frame.Frame) {
	n := f.Stride * f.Height
	if cap(dst.Pix) < n {
		dst.Pix = make([]byte, n)
	}
	dst.Pix = dst.Pix[:n]
	copy(dst.Pix, f.Pix[:n])
	dst.Width, dst.Height, dst.Stride, dst.Format, dst.Seq, dst.Time = f.Width, f.Height, f.Stride, f.Format, f.Seq, f.Time
}

// copyLatest copies the newest frame into dst when it is newer than after.
func (t *tap) copyLatest(dst *frame.Frame, after uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last.Width == 0 || t.last.Seq <= after {
		return false
	}
	copyFrame(dst, &t.last)
	return true
}

func (t *tap) size() (int, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last.Width, t.last.Height
}

func (t *tap) setResult(r pipeline.Result) {
	t.mu.Lock()
	t.res, t.hasRes = r, true
	t.mu.Unlock()
}

func (t *tap) result() (pipeline.Result, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.res, t.hasRes
}

// snapshot encodes the newest frame as JPEG with the faces of the newest
// result boxed (green: known, amber: unknown).
func (t *tap) snapshot() ([]byte, error) {
	t.mu.Lock()
	if t.last.Width == 0 {
		t.mu.Unlock()
		return nil, errors.New("no frame yet")
	}
	img := frameToRGBA(&t.last)
	res, has := t.res, t.hasRes
	t.mu.Unlock()
	if has {
		labels := make([]label, 0, res.N)
		for _, f := range res.List() {
			labels = append(labels, label{box: f.Box, name: f.Name, known: f.Known})
		}
		annotate(img, labels)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func frameToRGBA(f *frame.Frame) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	ri, bi := 0, 2
	if f.Format == frame.BGR {
		ri, bi = 2, 0
	}
	for y := 0; y < f.Height; y++ {
		src := f.Pix[y*f.Stride : y*f.Stride+3*f.Width]
		dst := img.Pix[y*img.Stride : y*img.Stride+4*f.Width]
		for x := 0; x < f.Width; x++ {
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = src[3*x+ri], src[3*x+1], src[3*x+bi], 255
		}
	}
	return img
}

// label is one face to draw.
type label struct {
	box   frame.Box
	name  string
	known bool
}

// annotate draws the boxes; names are drawn by the page over the image.
func annotate(img *image.RGBA, labels []label) {
	for _, l := range labels {
		c := color.RGBA{255, 176, 0, 255}
		if l.known {
			c = color.RGBA{0, 200, 80, 255}
		}
		r := image.Rect(int(l.box.X), int(l.box.Y), int(l.box.X+l.box.W), int(l.box.Y+l.box.H)).Intersect(img.Bounds())
		const th = 3
		for _, e := range []image.Rectangle{
			{r.Min, image.Pt(r.Max.X, r.Min.Y+th)}, {image.Pt(r.Min.X, r.Max.Y-th), r.Max},
			{r.Min, image.Pt(r.Min.X+th, r.Max.Y)}, {image.Pt(r.Max.X-th, r.Min.Y), r.Max},
		} {
			draw.Draw(img, e.Intersect(img.Bounds()), &image.Uniform{c}, image.Point{}, draw.Src)
		}
	}
}
