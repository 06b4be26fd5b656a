package camera

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"facegate/pipeline/frame"
)

// The capture helper writes frames to its stdout as a 16-byte header —
// wireMagic, then width, height and the source's own rate in millihertz
// (0: unknown), each a little-endian uint32 — followed by width×height×3
// bytes of BGR. The daemon reads them straight into its frame buffers.
const (
	wireMagic  = "FGF1"
	wireHeader = 16
)

// errWire marks a helper stream that breaks the protocol.
var errWire = errors.New("capture helper: malformed frame stream")

// WriteFrame writes one frame in the capture helper's protocol; rate is
// the source's own frame rate (0 when unknown). The capture helper uses it.
func WriteFrame(w io.Writer, f *frame.Frame, rate float64) error {
	if f.Width <= 0 || f.Height <= 0 || f.Width > maxSide || f.Height > maxSide || f.Stride < 3*f.Width ||
		len(f.Pix) < f.Stride*(f.Height-1)+3*f.Width {
		return fmt.Errorf("capture helper: cannot send a %dx%d frame (stride %d, %d bytes)", f.Width, f.Height, f.Stride, len(f.Pix))
	}
	if f.Format != frame.BGR {
		return fmt.Errorf("capture helper: frames are sent as BGR, not %s", f.Format)
	}
	var h [wireHeader]byte
	copy(h[:4], wireMagic)
	binary.LittleEndian.PutUint32(h[4:], uint32(f.Width))
	binary.LittleEndian.PutUint32(h[8:], uint32(f.Height))
	if rate > 0 && rate < maxFPS*10 {
		binary.LittleEndian.PutUint32(h[12:], uint32(math.Round(rate*1000)))
	}
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	if f.Stride == 3*f.Width {
		_, err := w.Write(f.Pix[:3*f.Width*f.Height])
		return err
	}
	for y := 0; y < f.Height; y++ {
		if _, err := w.Write(f.Pix[y*f.Stride : y*f.Stride+3*f.Width]); err != nil {
			return err
		}
	}
	return nil
}

// wireReader reads the helper's frames.
type wireReader struct {
	r   *bufio.Reader
	hdr [wireHeader]byte
}

// readFrame reads the next frame into dst and returns the source's rate.
// A stream that ends cleanly between frames gives io.EOF; one that ends
// inside a frame gives io.ErrUnexpectedEOF.
func (wr *wireReader) readFrame(dst *frame.Frame) (float64, error) {
	if _, err := io.ReadFull(wr.r, wr.hdr[:]); err != nil {
		return 0, err
	}
	if string(wr.hdr[:4]) != wireMagic {
		return 0, fmt.Errorf("%w: bad frame header %q", errWire, wr.hdr[:4])
	}
	w := binary.LittleEndian.Uint32(wr.hdr[4:])
	h := binary.LittleEndian.Uint32(wr.hdr[8:])
	if w == 0 || h == 0 || w > maxSide || h > maxSide {
		return 0, fmt.Errorf("%w: frame size %dx%d", errWire, w, h)
	}
	rate := float64(binary.LittleEndian.Uint32(wr.hdr[12:])) / 1000
	n := int(w) * int(h) * 3
	if cap(dst.Pix) >= n {
		sizeBGR(dst, int(w), int(h))
		if _, err := io.ReadFull(wr.r, dst.Pix); err != nil {
			return 0, unexpected(err)
		}
		return rate, nil
	}
	// A new size: grow with what actually arrives, so a header that
	// claims a huge frame costs nothing until its pixels come.
	pix := dst.Pix[:0]
	for len(pix) < n {
		chunk := min(n-len(pix), 1<<20)
		pix = append(pix, make([]byte, chunk)...)
		if _, err := io.ReadFull(wr.r, pix[len(pix)-chunk:]); err != nil {
			return 0, unexpected(err)
		}
	}
	dst.Pix = pix
	sizeBGR(dst, int(w), int(h))
	return rate, nil
}

// unexpected reports a stream that ended inside a frame.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
