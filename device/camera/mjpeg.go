package camera

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"facegate/pipeline/frame"
)

const (
	// mjpegMaxFrame caps one JPEG frame; 4K frames at high quality are a
	// few MiB.
	mjpegMaxFrame = 16 << 20
	// mjpegMaxJunk caps the bytes skipped while looking for the next frame
	// (junk, or frames too damaged to walk) before we give up on a stream.
	mjpegMaxJunk = 16 << 20
	// mjpegMaxFailures is how many frames in a row may fail to decode
	// before the stream counts as broken.
	mjpegMaxFailures = 30
)

// errMJPEGDamaged is a frame whose marker structure is broken; the
// splitter drops it and looks for the next SOI.
var errMJPEGDamaged = errors.New("damaged JPEG frame")

// mjpegSplitter cuts a stream of concatenated JPEG images into frames by
// walking their markers: length-prefixed segments are skipped whole, so an
// EXIF thumbnail (a JPEG inside an APP1 segment, with its own SOI and EOI)
// does not end the frame, and only entropy-coded data is scanned for
// markers.
type mjpegSplitter struct {
	r    *bufio.Reader
	buf  []byte // the current frame, reused
	junk int    // bytes skipped since the last whole frame
	w, h int    // the frame size from the last SOF segment, 0 when none
}

func newMJPEGSplitter(r io.Reader) *mjpegSplitter {
	return &mjpegSplitter{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next whole frame, from SOI to EOI; it is valid until the
// next call. It returns io.EOF at the end of the stream, also when the last
// frame is cut short.
func (m *mjpegSplitter) next() ([]byte, error) {
	for {
		if err := m.findSOI(); err != nil {
			return nil, err
		}
		err := m.walk()
		if err == nil {
			m.junk = 0
			return m.buf, nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if !errors.Is(err, errMJPEGDamaged) {
			return nil, err
		}
		m.junk += len(m.buf)
		if m.junk > mjpegMaxJunk {
			return nil, fmt.Errorf("mjpeg: no whole frame in %d MiB", mjpegMaxJunk>>20)
		}
		// Resynchronise: the damaged frame's bytes count as junk and the
		// search for SOI goes on from where the walk stopped.
	}
}

// findSOI skips to the next FF D8 and leaves it in buf.
func (m *mjpegSplitter) findSOI() error {
	m.buf = m.buf[:0]
	for {
		b, err := m.r.ReadSlice(0xff)
		m.junk += len(b)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return err // io.EOF: trailing junk or nothing at all
		}
		if m.junk > mjpegMaxJunk {
			return fmt.Errorf("mjpeg: no JPEG frame start in %d MiB", mjpegMaxJunk>>20)
		}
		if err != nil {
			continue
		}
		c, err := m.peek()
		if err != nil {
			return err
		}
		if c == 0xd8 {
			m.junk--
			m.r.Discard(1)
			m.buf = append(m.buf, 0xff, 0xd8)
			return nil
		}
	}
}

func (m *mjpegSplitter) peek() (byte, error) {
	p, err := m.r.Peek(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// readByte reads one byte of the frame into buf.
func (m *mjpegSplitter) readByte() (byte, error) {
	c, err := m.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if err := m.grow(1); err != nil {
		return 0, err
	}
	m.buf = append(m.buf, c)
	return c, nil
}

// grow makes room for n more bytes of the frame, within the cap.
func (m *mjpegSplitter) grow(n int) error {
	if len(m.buf)+n > mjpegMaxFrame {
		return fmt.Errorf("mjpeg: frame larger than %d MiB", mjpegMaxFrame>>20)
	}
	m.buf = slices.Grow(m.buf, n)
	return nil
}

// walk reads the rest of a frame whose SOI is in buf, up to its EOI.
func (m *mjpegSplitter) walk() error {
	m.w, m.h = 0, 0
	marker := -1 // a marker the entropy-coded scan ran into, still to handle
	for {
		if marker < 0 {
			c, err := m.readByte()
			if err != nil {
				return err
			}
			if c != 0xff {
				return errMJPEGDamaged
			}
			if c, err = m.readByte(); err != nil {
				return err
			}
			for c == 0xff { // fill bytes before a marker
				if c, err = m.readByte(); err != nil {
					return err
				}
			}
			marker = int(c)
		}
		mk := byte(marker)
		marker = -1
		switch {
		case mk == 0xd9: // EOI
			return nil
		case mk == 0xd8:
			// A new SOI inside a frame: the frame before was cut short.
			// Start over with this one.
			m.junk += len(m.buf) - 2
			if m.junk > mjpegMaxJunk {
				return fmt.Errorf("mjpeg: no whole frame in %d MiB", mjpegMaxJunk>>20)
			}
			m.buf = append(m.buf[:0], 0xff, 0xd8)
			m.w, m.h = 0, 0
			continue
		case mk >= 0xd0 && mk <= 0xd7, mk == 0x01: // RSTn, TEM: no length
			continue
		case mk == 0x00:
			return errMJPEGDamaged // a stuffed byte outside a scan
		}
		seg, err := m.segment()
		if err != nil {
			return err
		}
		if isSOF(mk) && len(seg) >= 5 {
			m.h = int(seg[1])<<8 | int(seg[2])
			m.w = int(seg[3])<<8 | int(seg[4])
		}
		if mk == 0xda { // SOS: entropy-coded data follows
			if marker, err = m.scan(); err != nil {
				return err
			}
		}
	}
}

// isSOF reports whether a marker starts a frame header (SOF0–SOF15, less
// DHT, JPG and DAC which share the range).
func isSOF(mk byte) bool {
	return mk >= 0xc0 && mk <= 0xcf && mk != 0xc4 && mk != 0xc8 && mk != 0xcc
}

// segment reads a length-prefixed segment into buf and returns its
// payload.
func (m *mjpegSplitter) segment() ([]byte, error) {
	l, err := m.r.Peek(2)
	if err != nil {
		return nil, err
	}
	n := int(l[0])<<8 | int(l[1])
	if n < 2 {
		return nil, errMJPEGDamaged
	}
	if err := m.grow(n); err != nil {
		return nil, err
	}
	start := len(m.buf)
	m.buf = m.buf[:start+n]
	if _, err := io.ReadFull(m.r, m.buf[start:]); err != nil {
		m.buf = m.buf[:start]
		return nil, err
	}
	return m.buf[start+2:], nil
}

// scan reads entropy-coded data into buf up to the marker that ends it,
// and returns that marker. FF 00 is a stuffed data byte and FF D0–D7 are
// restart markers inside the scan.
func (m *mjpegSplitter) scan() (int, error) {
	for {
		b, err := m.r.ReadSlice(0xff)
		if gerr := m.grow(len(b)); gerr != nil {
			return 0, gerr
		}
		m.buf = append(m.buf, b...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return 0, err
		}
		c, err := m.readByte()
		for err == nil && c == 0xff {
			c, err = m.readByte()
		}
		if err != nil {
			return 0, err
		}
		if c == 0x00 || (c >= 0xd0 && c <= 0xd7) {
			continue
		}
		return int(c), nil
	}
}

// mjpegCapture reads a raw MJPEG file: concatenated JPEG images, as
// ffmpeg writes with -f mjpeg and many IP cameras serve.
type mjpegCapture struct {
	name    string
	f       *os.File
	s       *mjpegSplitter
	dec     jpegDecoder
	skipped uint64 // frames that failed to decode
}

// openMJPEG opens a raw MJPEG file. It has no frame rate (fps is 0), so
// the Camera paces it at its default.
func openMJPEG(ctx context.Context, s spec, cfg Config) (capture, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.target)
	if err != nil {
		return nil, err
	}
	return &mjpegCapture{name: s.target, f: f, s: newMJPEGSplitter(f)}, nil
}

// read decodes the next frame that decodes; frames that do not are
// skipped, up to mjpegMaxFailures in a row.
func (c *mjpegCapture) read(dst *frame.Frame) error {
	var last error
	for fails := 0; fails < mjpegMaxFailures; fails++ {
		data, err := c.s.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			return fmt.Errorf("%s: %w", c.name, err)
		}
		// image/jpeg allocates the size its SOF claims before it reads
		// any pixel: check the size first.
		if c.s.w < 1 || c.s.w > maxSide || c.s.h < 1 || c.s.h > maxSide {
			last = fmt.Errorf("JPEG frame size %dx%d out of range (1..%d)", c.s.w, c.s.h, maxSide)
		} else if last = c.dec.decode(dst, data); last == nil {
			return nil
		}
		c.skipped++
	}
	return fmt.Errorf("%s: %d MJPEG frames in a row failed to decode: %w", c.name, mjpegMaxFailures, last)
}

func (c *mjpegCapture) fps() float64 { return 0 }
func (c *mjpegCapture) close()       { c.f.Close(); c.dec.close() }
