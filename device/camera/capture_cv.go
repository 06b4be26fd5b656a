package camera

import (
	"errors"
	"fmt"
	"image"
	"io"
	"os"

	"gocv.io/x/gocv"

	"facegate/pipeline/frame"
)

// cvCapture reads through OpenCV's VideoCapture (or decodes one still image)
// and converts each frame once, into the mailbox's reused buffer.
type cvCapture struct {
	vc      *gocv.VideoCapture // nil for a still image
	still   gocv.Mat           // the decoded image (Image kind)
	sent    bool               // the still image was delivered
	raw     gocv.Mat           // what the backend decoded
	conv    gocv.Mat           // after colour conversion
	resized gocv.Mat           // after resizing
	w, h    int                // requested size, 0: as decoded
	rate    float64
}

// openCV opens a parsed source with the backend that suits its kind.
func openCV(s spec, cfg Config) (capture, error) {
	c := &cvCapture{w: cfg.Width, h: cfg.Height}
	if s.kind == Image {
		if _, err := os.Stat(s.target); err != nil {
			return nil, err
		}
		c.still = gocv.IMRead(s.target, gocv.IMReadColor)
		if c.still.Empty() {
			c.still.Close()
			return nil, fmt.Errorf("decode image %s: not a readable image", s.target)
		}
		c.rate = 1
		c.initMats()
		return c, nil
	}
	if s.kind == File {
		// OpenCV reports a missing file only through a warning on stderr.
		if _, err := os.Stat(s.target); err != nil {
			return nil, err
		}
	}
	var (
		vc  *gocv.VideoCapture
		err error
	)
	switch {
	case s.kind == Device && s.index >= 0:
		vc, err = gocv.VideoCaptureDeviceWithAPI(s.index, gocv.VideoCaptureV4L2)
	case s.kind == Device:
		vc, err = gocv.VideoCaptureFileWithAPI(s.target, gocv.VideoCaptureV4L2)
	case s.kind == GStreamer:
		vc, err = gocv.VideoCaptureFileWithAPI(s.target, gocv.VideoCaptureGstreamer)
	default: // Stream, File: FFmpeg reads both, with its own I/O timeouts.
		vc, err = gocv.VideoCaptureFileWithAPI(s.target, gocv.VideoCaptureFFmpeg)
	}
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			_ = vc.Close()
		}
		// gocv's message may carry the raw URL: name the source ourselves.
		return nil, fmt.Errorf("open %s %s: OpenCV could not open it", s.kind, redact(s.target))
	}
	if s.kind == Device {
		// Requests; the driver picks the nearest mode it has, and frames
		// that still differ are resized below.
		if cfg.Width > 0 {
			vc.Set(gocv.VideoCaptureFrameWidth, float64(cfg.Width))
			vc.Set(gocv.VideoCaptureFrameHeight, float64(cfg.Height))
		}
		if cfg.FPS > 0 {
			vc.Set(gocv.VideoCaptureFPS, cfg.FPS)
		}
		// The driver's buffer count stays at OpenCV's default: the capture
		// goroutine drains the queue as fast as frames arrive, so frames do
		// not age there, and one buffer would halve some UVC cameras' rate.
	}
	c.vc = vc
	c.rate = vc.Get(gocv.VideoCaptureFPS)
	c.initMats()
	return c, nil
}

func (c *cvCapture) initMats() {
	c.raw, c.conv, c.resized = gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
}

func (c *cvCapture) fps() float64 { return c.rate }

// read decodes the next frame into dst (BGR, packed rows).
func (c *cvCapture) read(dst *frame.Frame) error {
	src := &c.raw
	if c.vc == nil {
		if c.sent {
			return io.EOF
		}
		c.sent = true
		src = &c.still
	} else if !c.vc.Read(&c.raw) || c.raw.Empty() {
		return io.EOF
	}
	switch src.Channels() {
	case 3:
	case 1:
		gocv.CvtColor(*src, &c.conv, gocv.ColorGrayToBGR)
		src = &c.conv
	case 4:
		gocv.CvtColor(*src, &c.conv, gocv.ColorBGRAToBGR)
		src = &c.conv
	default:
		return fmt.Errorf("unsupported frame with %d channels", src.Channels())
	}
	if c.w > 0 && (src.Cols() != c.w || src.Rows() != c.h) {
		gocv.Resize(*src, &c.resized, image.Pt(c.w, c.h), 0, 0, gocv.InterpolationArea)
		src = &c.resized
	}
	if src.Type() != gocv.MatTypeCV8UC3 {
		return fmt.Errorf("unsupported frame type %v", src.Type())
	}
	pix, err := src.DataPtrUint8()
	if err != nil {
		return err
	}
	w, h := src.Cols(), src.Rows()
	n := w * h * 3
	if len(pix) < n {
		return errors.New("short frame from OpenCV")
	}
	if cap(dst.Pix) < n {
		dst.Pix = make([]byte, n)
	}
	dst.Pix = dst.Pix[:n]
	copy(dst.Pix, pix[:n])
	dst.Width, dst.Height, dst.Stride, dst.Format = w, h, 3*w, frame.BGR
	return nil
}

// close releases the device and the OpenCV buffers.
func (c *cvCapture) close() {
	if c.vc != nil {
		_ = c.vc.Close()
	} else {
		_ = c.still.Close()
	}
	_ = c.raw.Close()
	_ = c.conv.Close()
	_ = c.resized.Close()
}
