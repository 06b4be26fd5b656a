//go:build linux

package camera

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"facegate/pipeline/frame"
)

// fakeFrame is one frame the fake driver delivers.
type fakeFrame struct {
	data  []byte
	flags uint32
	used  uint32 // bytesused to report instead of len(data), when non-zero
	err   error  // DQBUF fails with this instead (ENODEV: unplugged)
}

// fakeV4L2 is a V4L2 driver in memory: it answers the ioctls v4l2Capture
// makes the way a UVC camera's driver does, and checks their use (a buffer
// queued twice, an unmap of memory it never mapped).
type fakeV4L2 struct {
	mu sync.Mutex

	// What the device is and does.
	caps, deviceCaps uint32
	formats          []uint32
	sizeFor          func(w, h uint32) (uint32, uint32) // the size the driver settles on; nil: as asked
	pad              uint32                             // YUYV bytes per row beyond 2*width
	stride           uint32                             // YUYV bytes per row to report, when non-zero
	bufLen           int                                // buffer size, when non-zero (default: sizeimage)
	nbufs            uint32
	timePerFrame     bool
	tpf              v4l2Fract // the current frame interval
	failOn           uintptr   // this ioctl fails with EIO
	mmapFail         int       // the mmap call (1-based) that fails
	frames           []fakeFrame
	loop             bool          // start the frames again when they run out
	interval         time.Duration // wait this long in poll before a frame is ready

	// What happened.
	pix                  v4l2PixFormat
	sParm                []v4l2Fract
	bufs                 [][]byte
	queued               []uint32
	streaming, closed    bool
	closes, mmaps        int
	mapped, unmapped     int
	delivered            int
	misuse               []string
	next                 int
	streamons, streamoff int
}

// newFake is a streaming capture device offering formats, with 4 buffers
// and an adjustable frame rate of 30 fps.
func newFake(formats ...uint32) *fakeV4L2 {
	return &fakeV4L2{
		caps:         v4l2CapVideoCapture | v4l2CapStreaming | v4l2CapDeviceCaps | v4l2CapVideoCaptureMplane,
		deviceCaps:   v4l2CapVideoCapture | v4l2CapStreaming,
		formats:      formats,
		nbufs:        4,
		timePerFrame: true,
		tpf:          v4l2Fract{1, 30},
	}
}

func (f *fakeV4L2) bad(format string, a ...any) error {
	f.misuse = append(f.misuse, fmt.Sprintf(format, a...))
	return unix.EINVAL
}

func (f *fakeV4L2) ioctl(req uintptr, arg unsafe.Pointer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.bad("ioctl %#x after close", req)
	}
	if req == f.failOn {
		return unix.EIO
	}
	switch req {
	case vidiocQuerycap:
		p := (*v4l2Capability)(arg)
		copy(p.driver[:], "fake")
		copy(p.card[:], "Fake Camera")
		p.capabilities, p.deviceCaps = f.caps, f.deviceCaps
	case vidiocEnumFmt:
		p := (*v4l2FmtDesc)(arg)
		if p.typ != v4l2BufTypeVideoCapture {
			return f.bad("ENUM_FMT type %d", p.typ)
		}
		if int(p.index) >= len(f.formats) {
			return unix.EINVAL
		}
		p.pixelformat = f.formats[p.index]
	case vidiocSFmt:
		p := (*v4l2Format)(arg)
		if p.typ != v4l2BufTypeVideoCapture {
			return f.bad("S_FMT type %d", p.typ)
		}
		if f.streaming || f.bufs != nil {
			return unix.EBUSY
		}
		px := &p.fmt.pix
		if !slices.Contains(f.formats, px.pixelformat) {
			px.pixelformat = f.formats[0]
		}
		if f.sizeFor != nil {
			px.width, px.height = f.sizeFor(px.width, px.height)
		}
		px.field = v4l2FieldNone
		if px.pixelformat == v4l2PixFmtYUYV {
			px.bytesperline = 2*px.width + f.pad
			if f.stride != 0 {
				px.bytesperline = f.stride
			}
			px.sizeimage = px.bytesperline * px.height
		} else {
			px.bytesperline = 0
			px.sizeimage = px.width*px.height*2 + 64<<10
		}
		f.pix = *px
	case vidiocGParm, vidiocSParm:
		p := (*v4l2StreamParm)(arg)
		if p.typ != v4l2BufTypeVideoCapture {
			return f.bad("G/S_PARM type %d", p.typ)
		}
		if req == vidiocSParm {
			f.sParm = append(f.sParm, p.capture.timeperframe)
			if f.timePerFrame {
				f.tpf = p.capture.timeperframe
			}
		}
		p.capture = v4l2CaptureParm{timeperframe: f.tpf}
		if f.timePerFrame {
			p.capture.capability = v4l2CapTimePerFrame
		}
	case vidiocReqbufs:
		p := (*v4l2RequestBuffers)(arg)
		if p.typ != v4l2BufTypeVideoCapture || p.memory != v4l2MemoryMmap || p.count == 0 {
			return f.bad("REQBUFS %+v", *p)
		}
		n := int(f.pix.sizeimage)
		if f.bufLen != 0 {
			n = f.bufLen
		}
		f.bufs = make([][]byte, f.nbufs)
		for i := range f.bufs {
			f.bufs[i] = make([]byte, n)
		}
		p.count = f.nbufs
	case vidiocQuerybuf, vidiocQbuf:
		p := (*v4l2Buffer)(arg)
		if p.typ != v4l2BufTypeVideoCapture || p.memory != v4l2MemoryMmap || int(p.index) >= len(f.bufs) {
			return f.bad("QUERYBUF/QBUF %d type %d memory %d", p.index, p.typ, p.memory)
		}
		if req == vidiocQuerybuf {
			p.length = uint32(len(f.bufs[p.index]))
			*(*uint32)(unsafe.Pointer(&p.m)) = p.index << 20
			return nil
		}
		if slices.Contains(f.queued, p.index) {
			return f.bad("buffer %d queued twice", p.index)
		}
		f.queued = append(f.queued, p.index)
	case vidiocDqbuf:
		p := (*v4l2Buffer)(arg)
		if p.typ != v4l2BufTypeVideoCapture || p.memory != v4l2MemoryMmap {
			return f.bad("DQBUF type %d memory %d", p.typ, p.memory)
		}
		if !f.streaming {
			return unix.EINVAL
		}
		if !f.ready() {
			return unix.EAGAIN
		}
		fr := f.frames[f.next%len(f.frames)]
		f.next++
		if fr.err != nil {
			return fr.err
		}
		i := f.queued[0]
		f.queued = f.queued[1:]
		n := copy(f.bufs[i], fr.data)
		*p = v4l2Buffer{index: i, typ: p.typ, memory: p.memory, bytesused: uint32(n), flags: fr.flags, length: uint32(len(f.bufs[i]))}
		if fr.used != 0 {
			p.bytesused = fr.used
		}
		*(*uint32)(unsafe.Pointer(&p.m)) = i << 20
		f.delivered++
	case vidiocStreamon, vidiocStreamoff:
		if typ := *(*int32)(arg); typ != v4l2BufTypeVideoCapture {
			return f.bad("STREAMON/OFF type %d", typ)
		}
		if req == vidiocStreamon {
			f.streaming = true
			f.streamons++
		} else {
			f.streaming, f.queued = false, nil
			f.streamoff++
		}
	default:
		return unix.ENOTTY
	}
	return nil
}

// ready reports whether DQBUF has something to return (a frame or an error).
func (f *fakeV4L2) ready() bool {
	if f.next < len(f.frames) || f.loop && len(f.frames) > 0 {
		return f.frames[f.next%len(f.frames)].err != nil || len(f.queued) > 0
	}
	return false
}

func (f *fakeV4L2) mmap(offset int64, length int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mmaps++
	if f.mmaps == f.mmapFail {
		return nil, unix.ENOMEM
	}
	i := int(offset >> 20)
	if offset&(1<<20-1) != 0 || i >= len(f.bufs) || length != len(f.bufs[i]) {
		return nil, f.bad("mmap offset %#x length %d", offset, length)
	}
	f.mapped++
	return f.bufs[i][:length:length], nil
}

func (f *fakeV4L2) munmap(b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.bufs {
		if len(b) == len(m) && &b[0] == &m[0] {
			f.unmapped++
			return nil
		}
	}
	return f.bad("munmap of memory never mapped")
}

func (f *fakeV4L2) poll(timeout time.Duration) (int16, error) {
	f.mu.Lock()
	ready := f.streaming && f.ready()
	f.mu.Unlock()
	if ready {
		if f.interval > 0 {
			time.Sleep(min(f.interval, timeout))
		}
		return unix.POLLIN, nil
	}
	time.Sleep(timeout) // a silent camera
	return 0, nil
}

func (f *fakeV4L2) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	f.closes++
	return nil
}

// checkReleased asserts that the capture left the fake as it found it.
func (f *fakeV4L2) checkReleased(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed || f.closes != 1 || f.streaming || f.mapped != f.unmapped || len(f.misuse) > 0 {
		t.Errorf("after close: closed %v (%d times), streaming %v, %d buffers mapped, %d unmapped, misuse %q",
			f.closed, f.closes, f.streaming, f.mapped, f.unmapped, f.misuse)
	}
}

const fakePath = "/dev/video-fake"

// openFake opens a capture over f, closing it when the test ends.
func openFake(t testing.TB, ctx context.Context, f *fakeV4L2, cfg Config) *v4l2Capture {
	t.Helper()
	c, err := newV4L2(ctx, fakePath, f, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(c.close)
	return c
}

// yuyvImage builds a YUYV frame of w×h with stride bytes per row; the
// padding holds junk that must not show.
func yuyvImage(w, h, stride int, px func(x, y int) (yy, u, v byte)) []byte {
	b := bytes.Repeat([]byte{0xee}, stride*h)
	for y := range h {
		for x := 0; x < w; x += 2 {
			y0, u, v := px(x, y)
			y1, _, _ := px(x+1, y)
			copy(b[y*stride+2*x:], []byte{y0, u, y1, v})
		}
	}
	return b
}

// bt601 converts video-range Y'CbCr to BGR with the textbook formulas.
func bt601(y, u, v byte) [3]int {
	yy, cb, cr := 1.164*(float64(y)-16), float64(u)-128, float64(v)-128
	c := func(f float64) int { return int(min(max(f+0.5, 0), 255)) }
	return [3]int{c(yy + 2.017*cb), c(yy - 0.392*cb - 0.813*cr), c(yy + 1.596*cr)}
}

func TestV4L2YUYVColoursWithPaddedRows(t *testing.T) {
	f := newFake(v4l2PixFmtYUYV)
	f.pad = 24
	f.sizeFor = func(w, h uint32) (uint32, uint32) { return 80, 60 } // the nearest mode it has
	c := openFake(t, context.Background(), f, Config{Width: 64, Height: 48})
	if c.w != 80 || c.h != 60 || c.stride != 184 || c.pixfmt != v4l2PixFmtYUYV {
		t.Fatalf("negotiated %s %dx%d stride %d, want YUYV 80x60 stride 184", fourcc(c.pixfmt), c.w, c.h, c.stride)
	}
	// Red on the left, green on the right, Y rising row by row: a stride
	// mistake shifts rows, a chroma mistake swaps colours.
	px := func(x, y int) (byte, byte, byte) {
		if x < 40 {
			return byte(40 + y), 90, 240
		}
		return byte(100 + y), 54, 34
	}
	f.frames = []fakeFrame{{data: yuyvImage(80, 60, 184, px)}}
	var dst frame.Frame
	if err := c.read(&dst); err != nil {
		t.Fatal(err)
	}
	if dst.Width != 80 || dst.Height != 60 || dst.Format != frame.BGR || dst.Stride < 240 {
		t.Fatalf("frame %dx%d stride %d format %v", dst.Width, dst.Height, dst.Stride, dst.Format)
	}
	for y := range 60 {
		for x := range 80 {
			yy, u, v := px(x, y)
			want := bt601(yy, u, v)
			p := dst.Pix[y*dst.Stride+3*x:]
			for i := range 3 {
				if d := int(p[i]) - want[i]; d < -2 || d > 2 {
					t.Fatalf("pixel %d,%d = %v, want %v ±2", x, y, p[:3], want)
				}
			}
		}
	}
	if b, g, r := dst.Pix[0], dst.Pix[1], dst.Pix[2]; r < 150 || g > 60 || b > 60 {
		t.Fatalf("top-left pixel BGR %d,%d,%d is not red", b, g, r)
	}
}

func TestV4L2FormatPreference(t *testing.T) {
	for _, tc := range []struct {
		offered []uint32
		w, h    int
		want    uint32
	}{
		{[]uint32{v4l2PixFmtMJPEG, v4l2PixFmtYUYV}, 0, 0, v4l2PixFmtYUYV},
		{[]uint32{v4l2PixFmtMJPEG, v4l2PixFmtYUYV}, 640, 480, v4l2PixFmtYUYV},
		{[]uint32{v4l2PixFmtYUYV, v4l2PixFmtMJPEG}, 1280, 720, v4l2PixFmtMJPEG},
		{[]uint32{v4l2PixFmtYUYV, v4l2PixFmtJPEG}, 1920, 1080, v4l2PixFmtJPEG},
		{[]uint32{fourccCode("H264"), v4l2PixFmtYUYV}, 1920, 1080, v4l2PixFmtYUYV},
		{[]uint32{fourccCode("NV12"), v4l2PixFmtMJPEG}, 320, 240, v4l2PixFmtMJPEG},
	} {
		f := newFake(tc.offered...)
		c := openFake(t, context.Background(), f, Config{Width: tc.w, Height: tc.h})
		if c.pixfmt != tc.want {
			t.Errorf("offered %v, asked %dx%d: chose %s, want %s", tc.offered, tc.w, tc.h, fourcc(c.pixfmt), fourcc(tc.want))
		}
		w, h := tc.w, tc.h
		if w == 0 {
			w, h = 640, 480
		}
		if c.w != w || c.h != h {
			t.Errorf("asked %dx%d: got %dx%d", tc.w, tc.h, c.w, c.h)
		}
	}
}

// fourccCode is the V4L2 code of a four-letter format name.
func fourccCode(s string) uint32 { return binary.LittleEndian.Uint32([]byte(s)) }

func TestV4L2NotNativeFormats(t *testing.T) {
	for _, formats := range [][]uint32{
		{fourccCode("H264")},
		{fourccCode("YU12"), fourccCode("NV12")},
		{},
	} {
		f := newFake(formats...)
		_, err := newV4L2(context.Background(), fakePath, f, Config{})
		if !errors.Is(err, errNotNative) {
			t.Errorf("formats %v: %v, want errNotNative", formats, err)
			continue
		}
		if len(formats) > 0 && !strings.Contains(err.Error(), fourcc(formats[0])) {
			t.Errorf("error %q does not name the formats offered", err)
		}
		f.checkReleased(t)
		if f.mapped != 0 {
			t.Errorf("mapped %d buffers for a device it cannot read", f.mapped)
		}
	}
}

func TestV4L2Capabilities(t *testing.T) {
	const metaCapture = 0x00800000
	for _, tc := range []struct {
		name             string
		caps, deviceCaps uint32
		ok, notNative    bool
		msg              string
	}{
		{"capture node", v4l2CapVideoCapture | v4l2CapStreaming, 0, true, false, ""},
		{"device caps win", v4l2CapVideoCapture | v4l2CapStreaming | v4l2CapDeviceCaps, metaCapture | v4l2CapStreaming, false, false, "not a video capture node"},
		{"metadata node", metaCapture | v4l2CapStreaming, 0, false, false, "not a video capture node"},
		{"no streaming", v4l2CapVideoCapture, 0, false, false, "no streaming"},
		{"multi-planar", v4l2CapDeviceCaps, v4l2CapVideoCaptureMplane | v4l2CapStreaming, false, true, "multi-planar"},
	} {
		f := newFake(v4l2PixFmtYUYV)
		f.caps, f.deviceCaps = tc.caps, tc.deviceCaps
		c, err := newV4L2(context.Background(), fakePath, f, Config{})
		if tc.ok {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else {
				c.close()
			}
			f.checkReleased(t)
			continue
		}
		if err == nil {
			c.close()
			t.Errorf("%s: opened", tc.name)
			continue
		}
		if errors.Is(err, errNotNative) != tc.notNative || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), fakePath) {
			t.Errorf("%s: error %q (not native: %v), want one naming the device and saying %q", tc.name, err, errors.Is(err, errNotNative), tc.msg)
		}
		f.checkReleased(t)
	}
}

// testJPEG encodes a w×h image: red on the left half, blue on the right,
// a grey ramp in the bottom quarter.
func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{220, 30, 30, 255}
			switch {
			case y >= h*3/4:
				g := byte(x * 255 / w)
				c = color.RGBA{g, g, g, 255}
			case x >= w/2:
				c = color.RGBA{30, 30, 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sameAsDecoded checks dst against image/jpeg's own decoding of jpg.
func sameAsDecoded(t *testing.T, dst *frame.Frame, jpg []byte) {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if dst.Width != b.Dx() || dst.Height != b.Dy() {
		t.Fatalf("frame %dx%d, want %dx%d", dst.Width, dst.Height, b.Dx(), b.Dy())
	}
	for y := range b.Dy() {
		for x := range b.Dx() {
			r, g, bl, _ := img.At(x, y).RGBA()
			want := [3]int{int(bl >> 8), int(g >> 8), int(r >> 8)}
			p := dst.Pix[y*dst.Stride+3*x:]
			for i := range 3 {
				if d := int(p[i]) - want[i]; d < -2 || d > 2 {
					t.Fatalf("pixel %d,%d = %v, want %v ±2", x, y, p[:3], want)
				}
			}
		}
	}
}

// withoutDHT removes the Huffman table segments of a JPEG, as many UVC
// cameras send their MJPEG frames.
func withoutDHT(t testing.TB, jpg []byte) []byte {
	t.Helper()
	out := bytes.Clone(jpg)
	removed := false
	for i := 2; i+4 <= len(out) && out[i+1] != 0xda; {
		n := int(binary.BigEndian.Uint16(out[i+2:]))
		if out[i+1] == 0xc4 {
			out = append(out[:i], out[i+2+n:]...)
			removed = true
			continue
		}
		i += 2 + n
	}
	if !removed {
		t.Fatal("no DHT in the JPEG")
	}
	return out
}

func TestV4L2MJPEGSkipsBadFrames(t *testing.T) {
	f := newFake(v4l2PixFmtMJPEG)
	c := openFake(t, context.Background(), f, Config{Width: 48, Height: 32})
	if c.pixfmt != v4l2PixFmtMJPEG {
		t.Fatalf("chose %s", fourcc(c.pixfmt))
	}
	red := testJPEG(t, 48, 32)
	blue := testJPEG(t, 32, 48) // another size: the decoder takes what comes
	f.frames = []fakeFrame{
		{data: red},
		{data: red[:len(red)/2]},                    // cut short
		{data: blue, flags: v4l2BufFlagError},       // the driver saw it broken
		{data: blue, used: ^uint32(0)},              // more bytes than the buffer holds
		{data: nil},                                 // empty
		{data: []byte("not a JPEG at all, no SOI")}, // garbage
		{data: withoutDHT(t, blue)},                 // no Huffman tables: the defaults apply
		{data: red},
	}
	var dst frame.Frame
	for i, want := range [][]byte{red, blue, red} {
		if err := c.read(&dst); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		sameAsDecoded(t, &dst, want)
	}
	if b, g, r := dst.Pix[0], dst.Pix[1], dst.Pix[2]; r < 180 || g > 70 || b > 70 {
		t.Fatalf("top-left pixel BGR %d,%d,%d is not red", b, g, r)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.delivered != 8 || len(f.queued) != 4 {
		t.Fatalf("delivered %d frames, %d buffers queued: want all 8 delivered and all 4 buffers back", f.delivered, len(f.queued))
	}
}

func TestV4L2TooManyBadFrames(t *testing.T) {
	f := newFake(v4l2PixFmtMJPEG)
	f.frames, f.loop = []fakeFrame{{data: []byte{0xff, 0xd8, 0xff, 0xd9}}}, true
	c := openFake(t, context.Background(), f, Config{})
	var dst frame.Frame
	err := c.read(&dst)
	if err == nil || !strings.Contains(err.Error(), "30 bad frames") || !strings.Contains(err.Error(), fakePath) {
		t.Fatalf("read = %v, want an error after 30 bad frames", err)
	}
	if f.delivered != v4l2MaxBad {
		t.Fatalf("gave up after %d frames, want %d", f.delivered, v4l2MaxBad)
	}
}

func TestV4L2UnpluggedMidStream(t *testing.T) {
	f := newFake(v4l2PixFmtYUYV)
	f.sizeFor = func(w, h uint32) (uint32, uint32) { return 4, 2 }
	f.frames = []fakeFrame{{data: make([]byte, 16)}, {err: unix.ENODEV}}
	c := openFake(t, context.Background(), f, Config{})
	var dst frame.Frame
	if err := c.read(&dst); err != nil {
		t.Fatal(err)
	}
	err := c.read(&dst)
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), fakePath) {
		t.Fatalf("read = %v, want ENODEV naming the device", err)
	}
}

func TestV4L2SilentCamera(t *testing.T) {
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c := openFake(t, ctx, newFake(v4l2PixFmtYUYV), Config{})
		c.silence = time.Hour // only the context can end the wait
		time.AfterFunc(30*time.Millisecond, cancel)
		var dst frame.Frame
		if err := c.read(&dst); !errors.Is(err, context.Canceled) {
			t.Fatalf("read = %v, want context.Canceled", err)
		}
	})
	t.Run("times out", func(t *testing.T) {
		c := openFake(t, context.Background(), newFake(v4l2PixFmtYUYV), Config{})
		c.silence = 250 * time.Millisecond
		var dst frame.Frame
		err := c.read(&dst)
		if err == nil || !strings.Contains(err.Error(), "no frame for 250ms") {
			t.Fatalf("read = %v, want a no-frame error", err)
		}
	})
}

func TestV4L2CloseReleasesEverything(t *testing.T) {
	f := newFake(v4l2PixFmtYUYV)
	f.sizeFor = func(w, h uint32) (uint32, uint32) { return 4, 2 }
	f.frames, f.loop = []fakeFrame{{data: make([]byte, 16)}}, true
	c, err := newV4L2(context.Background(), fakePath, f, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var dst frame.Frame
	for range 10 { // more frames than buffers: each one must come back
		if err := c.read(&dst); err != nil {
			t.Fatal(err)
		}
	}
	if f.mapped != 4 || f.streamons != 1 {
		t.Fatalf("%d buffers mapped, %d STREAMONs; want 4 and 1", f.mapped, f.streamons)
	}
	c.close()
	c.close()
	f.checkReleased(t)
	if f.streamoff != 1 {
		t.Fatalf("%d STREAMOFFs, want 1", f.streamoff)
	}
}

func TestV4L2OpenFailureCleansUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(f *fakeV4L2)
		msg    string
		mapped int
	}{
		{"QUERYCAP fails", func(f *fakeV4L2) { f.failOn = vidiocQuerycap }, "VIDIOC_QUERYCAP", 0},
		{"S_FMT fails", func(f *fakeV4L2) { f.failOn = vidiocSFmt }, "VIDIOC_S_FMT", 0},
		{"one buffer", func(f *fakeV4L2) { f.nbufs = 1 }, "1 buffers", 0},
		{"third mmap fails", func(f *fakeV4L2) { f.mmapFail = 3 }, "mmap", 2},
		{"QBUF fails", func(f *fakeV4L2) { f.failOn = vidiocQbuf }, "VIDIOC_QBUF", 4},
		{"STREAMON fails", func(f *fakeV4L2) { f.failOn = vidiocStreamon }, "VIDIOC_STREAMON", 4},
		{"short buffers", func(f *fakeV4L2) { f.bufLen = 640*480*2 - 1 }, "buffer", 0},
		{"short rows", func(f *fakeV4L2) { f.stride = 640 }, "bytes per row", 0},
		{"zero size", func(f *fakeV4L2) { f.sizeFor = func(w, h uint32) (uint32, uint32) { return 0, 480 } }, "0x480", 0},
		{"huge size", func(f *fakeV4L2) { f.sizeFor = func(w, h uint32) (uint32, uint32) { return 1 << 20, 480 } }, "1048576x480", 0},
	} {
		f := newFake(v4l2PixFmtYUYV)
		tc.setup(f)
		_, err := newV4L2(context.Background(), fakePath, f, Config{})
		if err == nil || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), fakePath) {
			t.Errorf("%s: error %v, want one naming the device and mentioning %q", tc.name, err, tc.msg)
		}
		if f.mapped != tc.mapped {
			t.Errorf("%s: %d buffers mapped, want %d", tc.name, f.mapped, tc.mapped)
		}
		f.checkReleased(t)
	}
	// Two buffers are few but enough.
	f := newFake(v4l2PixFmtYUYV)
	f.nbufs = 2
	openFake(t, context.Background(), f, Config{})
}

func TestV4L2FrameRate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fps      float64
		settable bool
		sParm    []v4l2Fract
		fail     bool
		wantRate float64
	}{
		{"15 fps", 15, true, []v4l2Fract{{1, 15}}, false, 15},
		{"NTSC", 29.97, true, []v4l2Fract{{100, 2997}}, false, 29.97},
		{"own rate", 0, true, nil, false, 30},
		{"fixed rate", 15, false, nil, false, 30},
		{"S_PARM fails", 15, true, nil, true, 30},
	} {
		f := newFake(v4l2PixFmtYUYV)
		f.timePerFrame = tc.settable
		if tc.fail {
			f.failOn = vidiocSParm
		}
		c := openFake(t, context.Background(), f, Config{FPS: tc.fps})
		if !slices.Equal(f.sParm, tc.sParm) {
			t.Errorf("%s: S_PARM with %v, want %v", tc.name, f.sParm, tc.sParm)
		}
		if got := c.fps(); got < tc.wantRate-0.001 || got > tc.wantRate+0.001 {
			t.Errorf("%s: fps() = %v, want %v", tc.name, got, tc.wantRate)
		}
	}
	f := newFake(v4l2PixFmtYUYV)
	f.tpf = v4l2Fract{}
	if c := openFake(t, context.Background(), f, Config{}); c.fps() != 0 {
		t.Errorf("unknown rate: fps() = %v, want 0", c.fps())
	}
}

func TestFPSFraction(t *testing.T) {
	for _, tc := range []struct {
		fps      float64
		num, den uint32
	}{{30, 1, 30}, {29.97, 100, 2997}, {7.5, 2, 15}, {0.5, 2, 1}, {0, 0, 0}, {-1, 0, 0}, {1e9, 0, 0}} {
		if n, d := fpsFraction(tc.fps); n != tc.num || d != tc.den {
			t.Errorf("fpsFraction(%v) = %d/%d, want %d/%d", tc.fps, n, d, tc.num, tc.den)
		}
	}
}

// TestDefaultHuffmanTables compares the built-in tables with the DHT
// segment image/jpeg writes, which holds the same T.81 K.3 tables.
func TestDefaultHuffmanTables(t *testing.T) {
	jpg := testJPEG(t, 16, 16)
	i := bytes.Index(jpg, []byte{0xff, 0xc4})
	if i < 0 {
		t.Fatal("image/jpeg wrote no DHT")
	}
	n := int(binary.BigEndian.Uint16(jpg[i+2:]))
	if got, want := appendDefaultHuffman(nil), jpg[i:i+2+n]; !bytes.Equal(got, want) {
		t.Fatalf("default DHT segment differs from image/jpeg's:\n got %x\nwant %x", got, want)
	}
	if _, ok := jpegLacksHuffman(jpg); ok {
		t.Fatal("a JPEG with tables reported as lacking them")
	}
	stripped := withoutDHT(t, jpg)
	at, ok := jpegLacksHuffman(stripped)
	if !ok || stripped[at] != 0xff || stripped[at+1] != 0xda {
		t.Fatalf("stripped JPEG: lacks tables %v, scan at %d", ok, at)
	}
	// image/jpeg (the fallback decoder) reads the stripped frame once the
	// tables are written back in, to the same pixels.
	fixed := append(appendDefaultHuffman(append([]byte(nil), stripped[:at]...)), stripped[at:]...)
	a, errA := jpeg.Decode(bytes.NewReader(jpg))
	b, errB := jpeg.Decode(bytes.NewReader(fixed))
	if errA != nil || errB != nil || !bytes.Equal(a.(*image.YCbCr).Y, b.(*image.YCbCr).Y) || !bytes.Equal(a.(*image.YCbCr).Cr, b.(*image.YCbCr).Cr) {
		t.Fatalf("re-tabled frame decodes differently (%v, %v)", errA, errB)
	}
	for _, b := range [][]byte{nil, {0xff}, {0xff, 0xd8, 0xff}, {0xff, 0xd8, 0xff, 0xe0, 0, 0}, []byte("plain text here")} {
		if _, ok := jpegLacksHuffman(b); ok {
			t.Errorf("%q reported as a JPEG lacking tables", b)
		}
	}
}

func TestV4L2OpenRealPaths(t *testing.T) {
	_, err := openV4L2(context.Background(), spec{kind: Device, index: -1, target: "/dev/video-does-not-exist"}, Config{})
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotNative) {
		t.Fatalf("missing device: %v, want a not-exist error", err)
	}
	_, err = openV4L2(context.Background(), spec{kind: Device, index: -1, target: "/dev/null"}, Config{})
	if err == nil || errors.Is(err, errNotNative) || !strings.Contains(err.Error(), "/dev/null: not a V4L2 device") {
		t.Fatalf("/dev/null: %v, want a not-V4L2 error", err)
	}
	_, err = openV4L2(context.Background(), spec{kind: Device, index: 1 << 20, target: "1048576"}, Config{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "/dev/video1048576") {
		t.Fatalf("device by index: %v, want /dev/video1048576 not to exist", err)
	}
}

func TestV4L2FramesFlowThroughCamera(t *testing.T) {
	var (
		mu    sync.Mutex
		fakes []*fakeV4L2
	)
	jpg := testJPEG(t, 64, 48)
	op := func(ctx context.Context, s spec, cfg Config) (capture, error) {
		if s.kind != Device || s.target != "/dev/video0" {
			return nil, fmt.Errorf("spec %+v", s)
		}
		f := newFake(v4l2PixFmtMJPEG)
		f.sizeFor = func(w, h uint32) (uint32, uint32) { return 64, 48 }
		f.frames, f.loop, f.interval = []fakeFrame{{data: jpg}}, true, 2*time.Millisecond
		mu.Lock()
		fakes = append(fakes, f)
		mu.Unlock()
		c, err := newV4L2(ctx, "/dev/video0", f, cfg)
		if err != nil {
			return nil, err
		}
		return fitted(c, cfg), nil
	}
	c, err := openWith(context.Background(), Config{Source: "/dev/video0", Width: 1280, Height: 720, Logger: quiet}, op)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for range 5 {
		fr, err := c.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The camera gave 64x48 for 1280x720: resized to what was asked.
		if fr.Seq <= last || fr.Width != 1280 || fr.Height != 720 {
			t.Fatalf("frame seq %d after %d, %dx%d", fr.Seq, last, fr.Width, fr.Height)
		}
		last = fr.Seq
		if b, g, r := fr.Pix[0], fr.Pix[1], fr.Pix[2]; r < 180 || g > 70 || b > 70 {
			t.Fatalf("top-left pixel BGR %d,%d,%d is not red", b, g, r)
		}
	}
	if st := c.Stats(); st.State != Streaming || st.Kind != Device {
		t.Fatalf("stats %+v", st)
	}
	c.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(fakes) != 1 {
		t.Fatalf("opened %d times, want once", len(fakes))
	}
	fakes[0].checkReleased(t)
}

// goABI lists the Go side of what testdata/v4l2abi.c prints.
func goABI() map[string]uint64 {
	var (
		cp  v4l2Capability
		fd  v4l2FmtDesc
		px  v4l2PixFormat
		f   v4l2Format
		rb  v4l2RequestBuffers
		b   v4l2Buffer
		sp  v4l2StreamParm
		cpm v4l2CaptureParm
	)
	u := func(v uintptr) uint64 { return uint64(v) }
	return map[string]uint64{
		"sizeof pointer":                         u(unsafe.Sizeof(uintptr(0))),
		"sizeof v4l2_capability":                 u(unsafe.Sizeof(cp)),
		"offsetof v4l2_capability.capabilities":  u(unsafe.Offsetof(cp.capabilities)),
		"offsetof v4l2_capability.device_caps":   u(unsafe.Offsetof(cp.deviceCaps)),
		"sizeof v4l2_fmtdesc":                    u(unsafe.Sizeof(fd)),
		"offsetof v4l2_fmtdesc.flags":            u(unsafe.Offsetof(fd.flags)),
		"offsetof v4l2_fmtdesc.pixelformat":      u(unsafe.Offsetof(fd.pixelformat)),
		"sizeof v4l2_pix_format":                 u(unsafe.Sizeof(px)),
		"offsetof v4l2_pix_format.pixelformat":   u(unsafe.Offsetof(px.pixelformat)),
		"offsetof v4l2_pix_format.field":         u(unsafe.Offsetof(px.field)),
		"offsetof v4l2_pix_format.bytesperline":  u(unsafe.Offsetof(px.bytesperline)),
		"offsetof v4l2_pix_format.sizeimage":     u(unsafe.Offsetof(px.sizeimage)),
		"offsetof v4l2_pix_format.xfer_func":     u(unsafe.Offsetof(px.xferFunc)),
		"sizeof v4l2_format":                     u(unsafe.Sizeof(f)),
		"offsetof v4l2_format.fmt":               u(unsafe.Offsetof(f.fmt) + unsafe.Offsetof(f.fmt.pix)),
		"sizeof v4l2_requestbuffers":             u(unsafe.Sizeof(rb)),
		"offsetof v4l2_requestbuffers.memory":    u(unsafe.Offsetof(rb.memory)),
		"offsetof v4l2_requestbuffers.flags":     u(unsafe.Offsetof(rb.flags)),
		"sizeof v4l2_buffer":                     u(unsafe.Sizeof(b)),
		"offsetof v4l2_buffer.bytesused":         u(unsafe.Offsetof(b.bytesused)),
		"offsetof v4l2_buffer.flags":             u(unsafe.Offsetof(b.flags)),
		"offsetof v4l2_buffer.field":             u(unsafe.Offsetof(b.field)),
		"offsetof v4l2_buffer.timestamp":         u(unsafe.Offsetof(b.timestamp)),
		"offsetof v4l2_buffer.timecode":          u(unsafe.Offsetof(b.timecode)),
		"offsetof v4l2_buffer.sequence":          u(unsafe.Offsetof(b.sequence)),
		"offsetof v4l2_buffer.memory":            u(unsafe.Offsetof(b.memory)),
		"offsetof v4l2_buffer.m":                 u(unsafe.Offsetof(b.m)),
		"offsetof v4l2_buffer.m.offset":          u(unsafe.Offsetof(b.m)), // mOffset reads the union's first 4 bytes
		"offsetof v4l2_buffer.length":            u(unsafe.Offsetof(b.length)),
		"offsetof v4l2_buffer.reserved2":         u(unsafe.Offsetof(b.reserved2)),
		"offsetof v4l2_buffer.request_fd":        u(unsafe.Offsetof(b.requestFD)),
		"sizeof v4l2_timecode":                   u(unsafe.Sizeof(b.timecode)),
		"sizeof v4l2_streamparm":                 u(unsafe.Sizeof(sp)),
		"offsetof v4l2_streamparm.parm":          u(unsafe.Offsetof(sp.capture)),
		"sizeof v4l2_captureparm":                u(unsafe.Sizeof(cpm)),
		"offsetof v4l2_captureparm.capability":   u(unsafe.Offsetof(cpm.capability)),
		"offsetof v4l2_captureparm.timeperframe": u(unsafe.Offsetof(cpm.timeperframe)),
		"offsetof v4l2_captureparm.readbuffers":  u(unsafe.Offsetof(cpm.readbuffers)),
		"VIDIOC_QUERYCAP":                        u(vidiocQuerycap),
		"VIDIOC_ENUM_FMT":                        u(vidiocEnumFmt),
		"VIDIOC_S_FMT":                           u(vidiocSFmt),
		"VIDIOC_REQBUFS":                         u(vidiocReqbufs),
		"VIDIOC_QUERYBUF":                        u(vidiocQuerybuf),
		"VIDIOC_QBUF":                            u(vidiocQbuf),
		"VIDIOC_DQBUF":                           u(vidiocDqbuf),
		"VIDIOC_STREAMON":                        u(vidiocStreamon),
		"VIDIOC_STREAMOFF":                       u(vidiocStreamoff),
		"VIDIOC_G_PARM":                          u(vidiocGParm),
		"VIDIOC_S_PARM":                          u(vidiocSParm),
		"V4L2_BUF_TYPE_VIDEO_CAPTURE":            v4l2BufTypeVideoCapture,
		"V4L2_MEMORY_MMAP":                       v4l2MemoryMmap,
		"V4L2_FIELD_NONE":                        v4l2FieldNone,
		"V4L2_CAP_VIDEO_CAPTURE":                 v4l2CapVideoCapture,
		"V4L2_CAP_VIDEO_CAPTURE_MPLANE":          v4l2CapVideoCaptureMplane,
		"V4L2_CAP_STREAMING":                     v4l2CapStreaming,
		"V4L2_CAP_DEVICE_CAPS":                   v4l2CapDeviceCaps,
		"V4L2_CAP_TIMEPERFRAME":                  v4l2CapTimePerFrame,
		"V4L2_BUF_FLAG_ERROR":                    v4l2BufFlagError,
		"V4L2_PIX_FMT_YUYV":                      v4l2PixFmtYUYV,
		"V4L2_PIX_FMT_MJPEG":                     v4l2PixFmtMJPEG,
		"V4L2_PIX_FMT_JPEG":                      v4l2PixFmtJPEG,
	}
}

// abiILP32 is what testdata/v4l2abi.c prints when compiled for a 32-bit
// target (pointers, long and time_t of 4 bytes, as on 32-bit ARM), taken
// with `cc -m32 -S` from the Linux 6.1 header. A 32-bit test binary
// compares against it, since the host's cc may build for another word size.
const abiILP32 = `sizeof pointer 4
sizeof v4l2_capability 104
offsetof v4l2_capability.capabilities 84
offsetof v4l2_capability.device_caps 88
sizeof v4l2_fmtdesc 64
offsetof v4l2_fmtdesc.flags 8
offsetof v4l2_fmtdesc.pixelformat 44
sizeof v4l2_pix_format 48
offsetof v4l2_pix_format.pixelformat 8
offsetof v4l2_pix_format.field 12
offsetof v4l2_pix_format.bytesperline 16
offsetof v4l2_pix_format.sizeimage 20
offsetof v4l2_pix_format.xfer_func 44
sizeof v4l2_format 204
offsetof v4l2_format.fmt 4
sizeof v4l2_requestbuffers 20
offsetof v4l2_requestbuffers.memory 8
offsetof v4l2_requestbuffers.flags 16
sizeof v4l2_buffer 68
offsetof v4l2_buffer.bytesused 8
offsetof v4l2_buffer.flags 12
offsetof v4l2_buffer.field 16
offsetof v4l2_buffer.timestamp 20
offsetof v4l2_buffer.timecode 28
offsetof v4l2_buffer.sequence 44
offsetof v4l2_buffer.memory 48
offsetof v4l2_buffer.m 52
offsetof v4l2_buffer.m.offset 52
offsetof v4l2_buffer.length 56
offsetof v4l2_buffer.reserved2 60
offsetof v4l2_buffer.request_fd 64
sizeof v4l2_timecode 16
sizeof v4l2_streamparm 204
offsetof v4l2_streamparm.parm 4
sizeof v4l2_captureparm 40
offsetof v4l2_captureparm.capability 0
offsetof v4l2_captureparm.timeperframe 8
offsetof v4l2_captureparm.readbuffers 20
VIDIOC_QUERYCAP 0x80685600
VIDIOC_ENUM_FMT 0xc0405602
VIDIOC_S_FMT 0xc0cc5605
VIDIOC_REQBUFS 0xc0145608
VIDIOC_QUERYBUF 0xc0445609
VIDIOC_QBUF 0xc044560f
VIDIOC_DQBUF 0xc0445611
VIDIOC_STREAMON 0x40045612
VIDIOC_STREAMOFF 0x40045613
VIDIOC_G_PARM 0xc0cc5615
VIDIOC_S_PARM 0xc0cc5616
V4L2_BUF_TYPE_VIDEO_CAPTURE 1
V4L2_MEMORY_MMAP 1
V4L2_FIELD_NONE 1
V4L2_CAP_VIDEO_CAPTURE 1
V4L2_CAP_VIDEO_CAPTURE_MPLANE 4096
V4L2_CAP_STREAMING 0x4000000
V4L2_CAP_DEVICE_CAPS 0x80000000
V4L2_CAP_TIMEPERFRAME 4096
V4L2_BUF_FLAG_ERROR 64
V4L2_PIX_FMT_YUYV 0x56595559
V4L2_PIX_FMT_MJPEG 0x47504a4d
V4L2_PIX_FMT_JPEG 0x4745504a
`

// parseABI reads "name value" lines.
func parseABI(t *testing.T, out string) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad line %q", line)
		}
		v, err := strconv.ParseUint(line[i+1:], 0, 64)
		if err != nil {
			t.Fatalf("bad line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// cABI compiles and runs testdata/v4l2abi.c, skipping when there is no C
// compiler or kernel header, or when cc builds for another word size.
func cABI(t *testing.T) map[string]uint64 {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to check the V4L2 ABI against linux/videodev2.h")
	}
	bin := filepath.Join(t.TempDir(), "v4l2abi")
	out, err := exec.Command(cc, "-o", bin, filepath.Join("testdata", "v4l2abi.c")).CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("videodev2.h")) && bytes.Contains(out, []byte("No such file")) {
			t.Skipf("no kernel headers (linux/videodev2.h; Debian: linux-libc-dev): %s", out)
		}
		t.Fatalf("cc: %v\n%s", err, out)
	}
	out, err = exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("v4l2abi: %v", err)
	}
	m := parseABI(t, string(out))
	if m["sizeof pointer"] != uint64(unsafe.Sizeof(uintptr(0))) {
		t.Skipf("cc builds %d-bit programs, this test is %d-bit", 8*m["sizeof pointer"], 8*unsafe.Sizeof(uintptr(0)))
	}
	return m
}

func TestV4L2ABI(t *testing.T) {
	var want map[string]uint64
	if unsafe.Sizeof(uintptr(0)) == 4 {
		want = parseABI(t, abiILP32)
	} else {
		want = cABI(t)
	}
	got := goABI()
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: not checked on the Go side", k)
		case g != w:
			t.Errorf("%s: Go %d (%#x), kernel header %d (%#x)", k, g, g, w, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: not in the C program's output", k)
		}
	}
}

func BenchmarkV4L2YUYVToBGR640x480(b *testing.B) {
	src := yuyvImage(640, 480, 1280, func(x, y int) (byte, byte, byte) { return byte(x + y), byte(x), byte(y) })
	var dst frame.Frame
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if err := yuyvToBGR(&dst, src, 640, 480, 1280); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV4L2ReadMJPEG640x480 is one read through the fake driver: poll,
// dequeue, decode, convert, queue.
func BenchmarkV4L2ReadMJPEG640x480(b *testing.B) {
	f := newFake(v4l2PixFmtMJPEG)
	f.frames, f.loop = []fakeFrame{{data: benchJPEG(b)}}, true
	c := openFake(b, context.Background(), f, Config{Width: 640, Height: 480})
	var dst frame.Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := c.read(&dst); err != nil {
			b.Fatal(err)
		}
	}
}

// benchJPEG is a 640x480 JPEG with detail everywhere, so that decoding
// costs what a camera picture's would rather than a flat image's.
func benchJPEG(b *testing.B) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := range 640 {
			img.SetRGBA(x, y, color.RGBA{byte(x ^ y), byte(x * y >> 4), byte(x + 2*y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzJPEGLacksHuffman feeds the marker walk that runs on every MJPEG
// frame a camera sends: it must not panic, and when it finds a scan
// without tables the scan must be where it says.
func FuzzJPEGLacksHuffman(f *testing.F) {
	jpg := testJPEG(f, 16, 16)
	f.Add(jpg)
	f.Add(withoutDHT(f, jpg))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xff, 0xff, 0xda, 0, 2})
	f.Add([]byte{0xff, 0xd8, 0xff, 0xe0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		at, ok := jpegLacksHuffman(b)
		if !ok {
			return
		}
		if at < 2 || at+1 >= len(b) || b[at] != 0xff || b[at+1] != 0xda {
			t.Fatalf("scan reported at %d of %d bytes", at, len(b))
		}
		if bytes.HasPrefix(b[2:], []byte{0xff, 0xc4}) {
			t.Fatalf("a DHT right after SOI was missed")
		}
	})
}
