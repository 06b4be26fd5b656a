// Package opencv reads camera sources through gocv (OpenCV's VideoCapture):
// GStreamer pipelines, network streams, any video file FFmpeg knows and
// cameras in formats the daemon does not read itself. Only the capture
// helper (cmd/facegate-capture) links it, so OpenCV and its some 240
// shared libraries stay out of the daemon's process.
package opencv

import (
	"errors"
	"fmt"
	"image"
	"io"
	"os"

	"gocv.io/x/gocv"

	"facegate/device/camera"
	"facegate/pipeline/frame"
)

// Capture reads one source through OpenCV's VideoCapture (or decodes one
// still image) and converts each frame once, into the caller's buffer.
type Capture struct {
	vc      *gocv.VideoCapture // nil for a still image
	still   gocv.Mat           // the decoded image (Image kind)
	sent    bool               // the still image was delivered
	raw     gocv.Mat           // what the backend decoded
	conv    gocv.Mat           // after colour conversion
	resized gocv.Mat           // after resizing
	w, h    int                // requested size, 0: as decoded
	rate    float64
}

// Open opens a parsed source with the back-end that suits its kind; width
// and height (0: the source's own) are requested from cameras and applied
// by resizing; fps is requested from cameras.
func Open(s camera.Source, width, height int, fps float64) (*Capture, error) {
	c := &Capture{w: width, h: height}
	if s.Kind == camera.Image {
		if _, err := os.Stat(s.Target); err != nil {
			return nil, err
		}
		c.still = gocv.IMRead(s.Target, gocv.IMReadColor)
		if c.still.Empty() {
			c.still.Close()
			return nil, fmt.Errorf("decode image %s: not a readable image", s.Target)
		}
		c.rate = 1
		c.initMats()
		return c, nil
	}
	if s.Kind == camera.File {
		// OpenCV reports a missing file only through a warning on stderr.
		if _, err := os.Stat(s.Target); err != nil {
			return nil, err
		}
	}
	var (
		vc  *gocv.VideoCapture
		err error
	)
	switch {
	case s.Kind == camera.Device && s.Index >= 0:
		vc, err = gocv.VideoCaptureDeviceWithAPI(s.Index, gocv.VideoCaptureV4L2)
	case s.Kind == camera.Device:
		vc, err = gocv.VideoCaptureFileWithAPI(s.Target, gocv.VideoCaptureV4L2)
	case s.Kind == camera.GStreamer:
		vc, err = gocv.VideoCaptureFileWithAPI(s.Target, gocv.VideoCaptureGstreamer)
	default: // Stream, File: FFmpeg reads both, with its own I/O timeouts.
		vc, err = gocv.VideoCaptureFileWithAPI(s.Target, gocv.VideoCaptureFFmpeg)
	}
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			_ = vc.Close()
		}
		// gocv's message may carry the raw URL: name the source ourselves.
		return nil, fmt.Errorf("open %s %s: OpenCV could not open it", s.Kind, camera.Redact(s.Target))
	}
	if s.Kind == camera.Device {
		// Requests; the driver picks the nearest mode it has, and frames
		// that still differ are resized below.
		if width > 0 {
			vc.Set(gocv.VideoCaptureFrameWidth, float64(width))
			vc.Set(gocv.VideoCaptureFrameHeight, float64(height))
		}
		if fps > 0 {
			vc.Set(gocv.VideoCaptureFPS, fps)
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

func (c *Capture) initMats() {
	c.raw, c.conv, c.resized = gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
}

// FPS returns the source's own frame rate, 0 when unknown.
func (c *Capture) FPS() float64 { return c.rate }

// Read decodes the next frame into dst (BGR, packed rows); io.EOF at the
// end of a file or stream.
func (c *Capture) Read(dst *frame.Frame) error {
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

// Close releases the device and the OpenCV buffers.
func (c *Capture) Close() {
	if c.vc != nil {
		_ = c.vc.Close()
	} else {
		_ = c.still.Close()
	}
	_ = c.raw.Close()
	_ = c.conv.Close()
	_ = c.resized.Close()
}
