package app

import (
	"context"
	"errors"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"facegate/device/camera"
	"facegate/pipeline"
	"facegate/pipeline/annotate"
	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

var errNotFound = gallery.ErrNotFound

// tap keeps a copy of a camera's newest frame and result for snapshots and
// the live view. The copy is taken as the pipeline takes each frame (one
// memcpy of ~1 MB at 640×480), but only while someone looks: a live view or
// a snapshot in the last few seconds. Nobody watches most frames, and the
// frame loop should not pay for them.
type tap struct {
	cam    atomic.Pointer[camera.Camera] // device cameras: for state and errors
	wanted atomic.Int64                  // when a reader last asked (Unix ns)
	w, h   atomic.Int32                  // size of the last frame, copied or not

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
	return 0
}

// watchedFor is how long a reader's interest keeps the copies coming.
const watchedFor = 3 * time.Second

func (t *tap) put(f *frame.Frame) {
	t.w.Store(int32(f.Width))
	t.h.Store(int32(f.Height))
	if time.Now().UnixNano()-t.wanted.Load() > int64(watchedFor) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	copyFrame(&t.last, f)
}

// want says a reader is looking, so the next frames are copied.
func (t *tap) want() { t.wanted.Store(time.Now().UnixNano()) }

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
	t.want()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last.Width == 0 || t.last.Seq <= after {
		return false
	}
	copyFrame(dst, &t.last)
	return true
}

func (t *tap) size() (int, int) { return int(t.w.Load()), int(t.h.Load()) }

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

// picture returns a copy of the newest frame as an image with the faces of
// the newest result.
func (t *tap) picture() (image.Image, []annotate.Label, error) {
	// After a quiet spell the copy is old: ask for frames and wait briefly
	// for a fresh one (a camera delivers one within a frame interval).
	asked := time.Now()
	t.want()
	for i := 0; i < 25; i++ {
		t.mu.Lock()
		fresh := t.last.Width > 0 && !t.last.Time.Before(asked.Add(-watchedFor))
		t.mu.Unlock()
		if fresh {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last.Width == 0 {
		return nil, nil, errors.New("no frame yet")
	}
	img := frameToRGBA(&t.last)
	var labels []annotate.Label
	if t.hasRes {
		for _, f := range t.res.List() {
			labels = append(labels, annotate.Label{Box: f.Box, Name: f.Name})
		}
	}
	return img, labels, nil
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

// painter draws snapshots for the page: names in Hangul too. One at a time
// (font faces are not goroutine-safe).
type painter struct {
	mu sync.Mutex
	p  *annotate.Painter
}

func (p *painter) render(img image.Image, labels []annotate.Label) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.p.Render(img, labels)
}
