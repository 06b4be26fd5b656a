package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"facegate/pipeline/frame"
)

// Y4M (YUV4MPEG2) is the raw format ffmpeg, x264 and the codec test suites
// read and write: a text header line, then per frame a "FRAME" line and
// the Y, Cb and Cr planes, uncompressed.
const (
	y4mMagic = "YUV4MPEG2 "
	// y4mMaxLine bounds header and frame lines: real ones are under 100
	// bytes, and a garbage file must not make us buffer without limit.
	y4mMaxLine = 1 << 10
	// y4mGrowStep is how much of a first frame is read before its buffer
	// grows further, so a header that claims a huge frame in a small file
	// costs memory in proportion to the data that is really there.
	y4mGrowStep = 1 << 20
)

// y4mReader reads the frames of a Y4M stream.
type y4mReader struct {
	r     *bufio.Reader
	p     planar // geometry and range; its planes point into buf
	ySize int
	cSize int // per chroma plane; 0 for mono
	rate  float64
	buf   []byte // one frame's planes, reused
}

// newY4M reads a Y4M stream header from r.
func newY4M(r io.Reader) (*y4mReader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < y4mMaxLine {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	y := &y4mReader{r: br}
	line, err := y.line()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("y4m: empty or truncated header")
		}
		return nil, err
	}
	rest, ok := bytes.CutPrefix(line, []byte(y4mMagic))
	if !ok {
		return nil, errors.New("y4m: not a YUV4MPEG2 file (bad magic)")
	}
	w, h := -1, -1
	colour := []byte("420jpeg") // the format's default
	for _, f := range bytes.Split(rest, []byte(" ")) {
		if len(f) == 0 {
			continue
		}
		v := f[1:]
		switch f[0] {
		case 'W':
			w = y4mInt(v)
		case 'H':
			h = y4mInt(v)
		case 'F':
			y.rate = y4mRate(v)
		case 'C':
			colour = v
		case 'X':
			if string(v) == "COLORRANGE=FULL" {
				y.p.full = true
			} else if string(v) == "COLORRANGE=LIMITED" {
				y.p.full = false
			}
		}
		// I (interlacing) and A (pixel aspect) do not change how the
		// planes are read.
	}
	if w < 1 || w > maxSide || h < 1 || h > maxSide {
		return nil, fmt.Errorf("y4m: frame size missing or out of range (W and H must be 1..%d)", maxSide)
	}
	y.p.w, y.p.h, y.p.yStride = w, h, w
	switch string(colour) {
	case "420jpeg", "420paldv", "420mpeg2", "420":
		y.p.hShift, y.p.vShift = 1, 1
	case "422":
		y.p.hShift = 1
	case "444":
	case "mono":
	default:
		// Deep (10-, 12-, 16-bit), 4:1:1 and alpha files are valid Y4M
		// that the OpenCV helper can read.
		return nil, fmt.Errorf("y4m: unsupported Y4M colour space C%.32s: %w", colour, errNotNative)
	}
	y.ySize = w * h
	if string(colour) != "mono" {
		cw, ch := (w+(1<<y.p.hShift)-1)>>y.p.hShift, (h+(1<<y.p.vShift)-1)>>y.p.vShift
		y.p.cStride, y.cSize = cw, cw*ch
	}
	return y, nil
}

// y4mInt parses a positive header number, or returns -1.
func y4mInt(b []byte) int {
	if len(b) == 0 || len(b) > 6 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// y4mRate parses "num:den" as frames per second, 0 when it is absent or
// unusable (the Camera then paces at its default).
func y4mRate(b []byte) float64 {
	ns, ds, ok := bytes.Cut(b, []byte(":"))
	if !ok {
		return 0
	}
	n, err1 := strconv.ParseUint(string(ns), 10, 32)
	d, err2 := strconv.ParseUint(string(ds), 10, 32)
	if err1 != nil || err2 != nil || n == 0 || d == 0 {
		return 0
	}
	f := float64(n) / float64(d)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0
	}
	return f
}

// line returns the next header line without its newline; the slice is
// valid until the next read. A line cut short by the end of the stream
// comes back with io.EOF.
func (y *y4mReader) line() ([]byte, error) {
	b, err := y.r.ReadSlice('\n')
	switch {
	case err == nil:
		if len(b) > y4mMaxLine {
			return nil, fmt.Errorf("y4m: header line longer than %d bytes", y4mMaxLine)
		}
		return b[:len(b)-1], nil
	case errors.Is(err, bufio.ErrBufferFull):
		return nil, fmt.Errorf("y4m: header line longer than %d bytes", y4mMaxLine)
	case errors.Is(err, io.EOF):
		if len(b) > y4mMaxLine {
			return nil, fmt.Errorf("y4m: header line longer than %d bytes", y4mMaxLine)
		}
		return b, io.EOF
	}
	return nil, fmt.Errorf("y4m: %w", err)
}

// next reads one frame into dst. It returns io.EOF at the end of the
// stream, also when the last frame is cut short: a truncated file still
// plays up to where it was cut.
func (y *y4mReader) next(dst *frame.Frame) error {
	line, err := y.line()
	if errors.Is(err, io.EOF) {
		// Nothing, or the start of a FRAME line, before the end.
		if len(line) <= len("FRAME") && bytes.HasPrefix([]byte("FRAME"), line) ||
			isY4MFrameLine(line) {
			return io.EOF
		}
		return errors.New("y4m: garbage where a FRAME header should be")
	}
	if err != nil {
		return err
	}
	if !isY4MFrameLine(line) {
		return errors.New("y4m: garbage where a FRAME header should be")
	}
	if err := y.fill(y.ySize + 2*y.cSize); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return io.EOF
		}
		return err
	}
	p := y.p
	p.y = y.buf[:y.ySize]
	if y.cSize > 0 {
		p.cb = y.buf[y.ySize : y.ySize+y.cSize]
		p.cr = y.buf[y.ySize+y.cSize : y.ySize+2*y.cSize]
	}
	return p.toBGR(dst)
}

// isY4MFrameLine reports whether a line is a FRAME header ("FRAME", maybe
// with parameters, which never change how the planes are read).
func isY4MFrameLine(b []byte) bool {
	rest, ok := bytes.CutPrefix(b, []byte("FRAME"))
	return ok && (len(rest) == 0 || rest[0] == ' ')
}

// fill reads exactly n bytes of planes into buf. The first frame grows buf
// step by step as data arrives; later frames reuse it.
func (y *y4mReader) fill(n int) error {
	if cap(y.buf) >= n {
		y.buf = y.buf[:n]
		_, err := io.ReadFull(y.r, y.buf)
		return err
	}
	y.buf = y.buf[:0]
	for len(y.buf) < n {
		step := min(n-len(y.buf), y4mGrowStep)
		y.buf = slices.Grow(y.buf, step)
		got, err := io.ReadFull(y.r, y.buf[len(y.buf):len(y.buf)+step])
		y.buf = y.buf[:len(y.buf)+got]
		if errors.Is(err, io.EOF) && len(y.buf) > 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// y4mCapture is a Y4M file opened as a capture.
type y4mCapture struct {
	f *os.File
	y *y4mReader
}

// openY4M opens a Y4M file. Colour spaces other than 8-bit 4:2:0, 4:2:2,
// 4:4:4 and mono come back as errNotNative, for the OpenCV helper.
func openY4M(ctx context.Context, s spec, cfg Config) (capture, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.target)
	if err != nil {
		return nil, err
	}
	y, err := newY4M(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", s.target, err)
	}
	return &y4mCapture{f: f, y: y}, nil
}

func (c *y4mCapture) read(dst *frame.Frame) error {
	err := c.y.next(dst)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", c.f.Name(), err)
	}
	return err
}

func (c *y4mCapture) fps() float64 { return c.y.rate }
func (c *y4mCapture) close()       { c.f.Close() }
