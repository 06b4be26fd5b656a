package camera

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"facegate/pipeline/frame"
)

// errNotNative marks a source that the in-process readers cannot read (a
// codec, pixel format or container they do not know); it is handed to the
// capture helper, which reads it with OpenCV in its own process.
var errNotNative = errors.New("not readable in process")

// openSource opens a source in process when it can (V4L2 cameras in YUYV
// or MJPEG, Y4M and MJPEG files, still images) and through the OpenCV
// capture helper otherwise (GStreamer pipelines, network streams, other
// video files and camera formats). Keeping OpenCV out of the daemon's
// process is what keeps its memory within budget: Debian's OpenCV brings
// some 240 shared libraries and 70 MB of resident memory with it.
func openSource(ctx context.Context, s spec, cfg Config) (capture, error) {
	var (
		c   capture
		err error
	)
	switch s.kind {
	case Device:
		c, err = openV4L2(ctx, s, cfg)
	case File:
		switch strings.ToLower(filepath.Ext(s.target)) {
		case ".y4m":
			c, err = openY4M(ctx, s, cfg)
		case ".mjpeg", ".mjpg":
			c, err = openMJPEG(ctx, s, cfg)
		default:
			err = errNotNative
		}
	case Image:
		c, err = openStill(ctx, s, cfg)
	default:
		err = errNotNative
	}
	if errors.Is(err, errNotNative) {
		return openHelper(ctx, s, cfg)
	}
	if err != nil {
		return nil, err
	}
	return fitted(c, cfg), nil
}

// fitted resizes a native capture's frames to the configured size when
// they differ (a camera that lacks the mode, a file of another size).
func fitted(c capture, cfg Config) capture {
	if cfg.Width <= 0 {
		return c
	}
	return &fitCapture{capture: c, w: cfg.Width, h: cfg.Height}
}

// fitCapture resizes only frames whose size differs from the configured
// one; the others pass through untouched.
type fitCapture struct {
	capture
	w, h int
	tmp  frame.Frame // the frame as read, when it has to be resized
}

func (f *fitCapture) read(dst *frame.Frame) error {
	if err := f.capture.read(dst); err != nil {
		return err
	}
	if dst.Width == f.w && dst.Height == f.h {
		return nil
	}
	// Swap buffers rather than copy: tmp takes the frame as read, dst
	// gets tmp's old buffer to resize into.
	f.tmp, *dst = *dst, frame.Frame{Pix: f.tmp.Pix}
	resizeBGR(dst, &f.tmp, f.w, f.h)
	return nil
}
