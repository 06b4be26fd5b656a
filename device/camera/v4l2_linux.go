//go:build linux

package camera

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"facegate/pipeline/frame"
)

// The kernel ABI (include/uapi/linux/videodev2.h) for the few ioctls we
// use. TestV4L2ABI checks every size, offset and number below against the
// header compiled with cc on 64-bit hosts, and against a table taken from
// a 32-bit compile on 32-bit ones.
const (
	v4l2BufTypeVideoCapture = 1
	v4l2MemoryMmap          = 1
	v4l2FieldNone           = 1

	v4l2CapVideoCapture       = 0x00000001
	v4l2CapVideoCaptureMplane = 0x00001000
	v4l2CapStreaming          = 0x04000000
	v4l2CapDeviceCaps         = 0x80000000
	v4l2CapTimePerFrame       = 0x1000 // in v4l2_captureparm.capability

	v4l2BufFlagError = 0x00000040

	v4l2PixFmtYUYV  = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	v4l2PixFmtMJPEG = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	v4l2PixFmtJPEG  = 'J' | 'P'<<8 | 'E'<<16 | 'G'<<24
)

// v4l2Capability is struct v4l2_capability.
type v4l2Capability struct {
	driver       [16]byte
	card         [32]byte
	busInfo      [32]byte
	version      uint32
	capabilities uint32
	deviceCaps   uint32
	reserved     [3]uint32
}

// v4l2FmtDesc is struct v4l2_fmtdesc.
type v4l2FmtDesc struct {
	index       uint32
	typ         uint32
	flags       uint32
	description [32]byte
	pixelformat uint32
	mbusCode    uint32
	reserved    [3]uint32
}

// v4l2PixFormat is struct v4l2_pix_format.
type v4l2PixFormat struct {
	width, height uint32
	pixelformat   uint32
	field         uint32
	bytesperline  uint32
	sizeimage     uint32
	colorspace    uint32
	priv          uint32
	flags         uint32
	ycbcrEnc      uint32
	quantization  uint32
	xferFunc      uint32
}

// v4l2Format is struct v4l2_format.
type v4l2Format struct {
	typ uint32
	fmt v4l2FormatUnion
}

// v4l2FormatUnion is v4l2_format's 200-byte union. One of its members
// (struct v4l2_window) holds pointers, so the union is pointer-aligned: it
// starts at offset 8 on 64-bit systems and at 4 on 32-bit ones.
type v4l2FormatUnion struct {
	_   [0]uintptr
	pix v4l2PixFormat
	_   [200 - unsafe.Sizeof(v4l2PixFormat{})]byte
}

// v4l2RequestBuffers is struct v4l2_requestbuffers.
type v4l2RequestBuffers struct {
	count        uint32
	typ          uint32
	memory       uint32
	capabilities uint32
	flags        uint8
	reserved     [3]uint8
}

// v4l2Timecode is struct v4l2_timecode.
type v4l2Timecode struct {
	typ      uint32
	flags    uint32
	frames   uint8
	seconds  uint8
	minutes  uint8
	hours    uint8
	userbits [4]uint8
}

// v4l2Buffer is struct v4l2_buffer. Its timestamp is the C library's
// struct timeval, which unix.Timeval matches: 16 bytes on 64-bit systems,
// 8 on 32-bit ones (the kernel still accepts the 32-bit time layout there,
// as VIDIOC_*_TIME32, whatever time_t the C library has moved to).
type v4l2Buffer struct {
	index     uint32
	typ       uint32
	bytesused uint32
	flags     uint32
	field     uint32
	timestamp unix.Timeval
	timecode  v4l2Timecode
	sequence  uint32
	memory    uint32
	m         uintptr // union m: the offset for MMAP buffers (see mOffset), or a pointer
	length    uint32
	reserved2 uint32
	requestFD int32
}

// mOffset is the union m's __u32 offset, which sits at its start.
func (b *v4l2Buffer) mOffset() uint32 { return *(*uint32)(unsafe.Pointer(&b.m)) }

// v4l2Fract is struct v4l2_fract.
type v4l2Fract struct {
	numerator, denominator uint32
}

// v4l2CaptureParm is struct v4l2_captureparm.
type v4l2CaptureParm struct {
	capability   uint32
	capturemode  uint32
	timeperframe v4l2Fract
	extendedmode uint32
	readbuffers  uint32
	reserved     [4]uint32
}

// v4l2StreamParm is struct v4l2_streamparm (its union has no pointers).
type v4l2StreamParm struct {
	typ     uint32
	capture v4l2CaptureParm
	_       [200 - unsafe.Sizeof(v4l2CaptureParm{})]byte
}

// ioctl request numbers, encoded like the kernel's _IOR/_IOW/_IOWR on
// x86, ARM and most other architectures (not MIPS, PowerPC or SPARC). The
// sizes come from the Go structs so that a layout mistake shows up as a
// wrong number in TestV4L2ABI.
const (
	iocWrite     = 1 << 30
	iocRead      = 2 << 30
	iocSizeShift = 16
	iocV4L2      = 'V' << 8

	vidiocQuerycap  = iocRead | iocV4L2 | 0 | unsafe.Sizeof(v4l2Capability{})<<iocSizeShift
	vidiocEnumFmt   = iocRead | iocWrite | iocV4L2 | 2 | unsafe.Sizeof(v4l2FmtDesc{})<<iocSizeShift
	vidiocSFmt      = iocRead | iocWrite | iocV4L2 | 5 | unsafe.Sizeof(v4l2Format{})<<iocSizeShift
	vidiocReqbufs   = iocRead | iocWrite | iocV4L2 | 8 | unsafe.Sizeof(v4l2RequestBuffers{})<<iocSizeShift
	vidiocQuerybuf  = iocRead | iocWrite | iocV4L2 | 9 | unsafe.Sizeof(v4l2Buffer{})<<iocSizeShift
	vidiocQbuf      = iocRead | iocWrite | iocV4L2 | 15 | unsafe.Sizeof(v4l2Buffer{})<<iocSizeShift
	vidiocDqbuf     = iocRead | iocWrite | iocV4L2 | 17 | unsafe.Sizeof(v4l2Buffer{})<<iocSizeShift
	vidiocStreamon  = iocWrite | iocV4L2 | 18 | unsafe.Sizeof(int32(0))<<iocSizeShift
	vidiocStreamoff = iocWrite | iocV4L2 | 19 | unsafe.Sizeof(int32(0))<<iocSizeShift
	vidiocGParm     = iocRead | iocWrite | iocV4L2 | 21 | unsafe.Sizeof(v4l2StreamParm{})<<iocSizeShift
	vidiocSParm     = iocRead | iocWrite | iocV4L2 | 22 | unsafe.Sizeof(v4l2StreamParm{})<<iocSizeShift
)

// Capture tuning.
const (
	v4l2Buffers     = 4                      // asked of the driver; at least v4l2MinBuffers must come back
	v4l2MinBuffers  = 2                      // one being filled while we convert the other
	v4l2MaxBuffers  = 32                     // a driver that hands out more: use this many
	v4l2MaxFormats  = 128                    // ENUM_FMT entries looked at
	v4l2PollSlice   = 100 * time.Millisecond // longest wait before looking at ctx again
	v4l2Silence     = 5 * time.Second        // no frame for this long: fail, the Camera reopens
	v4l2MaxBad      = 30                     // corrupt frames in a row before giving up
	v4l2MaxBufBytes = 2 * maxSide * maxSide  // YUYV at the largest frame size
	v4l2SmallW      = 640                    // at most this size, prefer YUYV over MJPEG
	v4l2SmallH      = 480
)

// v4l2Dev is an opened video device's system calls: the real device, or a
// fake driver in tests.
type v4l2Dev interface {
	ioctl(req uintptr, arg unsafe.Pointer) error
	mmap(offset int64, length int) ([]byte, error)
	munmap(b []byte) error
	// poll waits up to timeout for the device to become readable and
	// returns its poll events (0 on timeout).
	poll(timeout time.Duration) (int16, error)
	close() error
}

// fdDev is a device opened from /dev.
type fdDev struct {
	fd  int
	pfd [1]unix.PollFd // kept here so that waiting for a frame does not allocate
}

func (d *fdDev) ioctl(req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(d.fd), req, uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

func (d *fdDev) mmap(offset int64, length int) ([]byte, error) {
	// PROT_WRITE too: drivers on the old videobuf framework refuse
	// read-only mappings.
	return unix.Mmap(d.fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func (d *fdDev) munmap(b []byte) error { return unix.Munmap(b) }

func (d *fdDev) poll(timeout time.Duration) (int16, error) {
	d.pfd[0] = unix.PollFd{Fd: int32(d.fd), Events: unix.POLLIN}
	ms := int((timeout + time.Millisecond - 1) / time.Millisecond)
	n, err := unix.Poll(d.pfd[:], ms)
	if err != nil || n == 0 {
		return 0, err
	}
	return d.pfd[0].Revents, nil
}

func (d *fdDev) close() error { return unix.Close(d.fd) }

// v4l2Capture streams a V4L2 camera through memory-mapped buffers, in
// YUYV or MJPEG.
type v4l2Capture struct {
	ctx       context.Context
	path      string
	dev       v4l2Dev
	pixfmt    uint32
	w, h      int
	stride    int // YUYV bytes per row
	bufs      [][]byte
	streaming bool
	closed    bool
	rate      float64
	silence   time.Duration // a field so that tests need not wait v4l2Silence
	vb        v4l2Buffer    // DQBUF/QBUF argument, here so that reads do not allocate
	dec       jpegDecoder
}

// openV4L2 opens a V4L2 camera and starts streaming from it. A device that
// is absent or not accessible gives an ordinary error (the Camera retries:
// a camera may be plugged in later); one that offers neither YUYV nor
// MJPEG gives an error wrapping errNotNative.
func openV4L2(ctx context.Context, s spec, cfg Config) (capture, error) {
	path := s.target
	if s.index >= 0 {
		path = "/dev/video" + strconv.Itoa(s.index)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		perr := &fs.PathError{Op: "open", Path: path, Err: err}
		if errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w (is the daemon's user in the video group?)", perr)
		}
		return nil, perr
	}
	c, err := newV4L2(ctx, path, &fdDev{fd: fd}, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// newV4L2 sets up streaming on an opened device. On failure it undoes
// what it did, closing dev.
func newV4L2(ctx context.Context, path string, dev v4l2Dev, cfg Config) (_ *v4l2Capture, err error) {
	c := &v4l2Capture{ctx: ctx, path: path, dev: dev, silence: v4l2Silence}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	if err := c.checkCaps(); err != nil {
		return nil, err
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 {
		w, h = v4l2SmallW, v4l2SmallH
	}
	pf, err := c.chooseFormat(w, h)
	if err != nil {
		return nil, err
	}
	if err := c.setFormat(pf, w, h); err != nil {
		return nil, err
	}
	c.setRate(cfg.FPS)
	if err := c.mapBuffers(); err != nil {
		return nil, err
	}
	typ := int32(v4l2BufTypeVideoCapture)
	if err := c.dev.ioctl(vidiocStreamon, unsafe.Pointer(&typ)); err != nil {
		return nil, c.fail("VIDIOC_STREAMON", err)
	}
	c.streaming = true
	return c, nil
}

// fail names the device and the ioctl in an error.
func (c *v4l2Capture) fail(op string, err error) error {
	switch {
	case errors.Is(err, unix.EBUSY):
		return fmt.Errorf("camera %s: %s: %w (in use by another program?)", c.path, op, err)
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.EIO):
		return fmt.Errorf("camera %s: %s: %w (unplugged?)", c.path, op, err)
	}
	return fmt.Errorf("camera %s: %s: %w", c.path, op, err)
}

// checkCaps makes sure the device is a V4L2 video capture device with
// streaming I/O.
func (c *v4l2Capture) checkCaps() error {
	var cp v4l2Capability
	if err := c.dev.ioctl(vidiocQuerycap, unsafe.Pointer(&cp)); err != nil {
		// ENOSYS: what emulators such as qemu-user answer for ioctls they
		// do not know.
		if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("camera %s: not a V4L2 device (VIDIOC_QUERYCAP: %w)", c.path, err)
		}
		return c.fail("VIDIOC_QUERYCAP", err)
	}
	caps := cp.capabilities
	if caps&v4l2CapDeviceCaps != 0 {
		caps = cp.deviceCaps // this node's, not the whole device's
	}
	card := cString(cp.card[:])
	switch {
	case caps&v4l2CapVideoCapture == 0 && caps&v4l2CapVideoCaptureMplane != 0:
		return fmt.Errorf("camera %s (%s): multi-planar capture only: %w", c.path, card, errNotNative)
	case caps&v4l2CapVideoCapture == 0:
		// UVC cameras have a second node for metadata, easily picked by mistake.
		return fmt.Errorf("camera %s (%s): not a video capture node (capabilities %#x; a metadata or output node?)", c.path, card, caps)
	case caps&v4l2CapStreaming == 0:
		return fmt.Errorf("camera %s (%s): no streaming I/O, only read(), which is not supported", c.path, card)
	}
	return nil
}

// chooseFormat picks YUYV or MJPEG among the device's formats: YUYV first
// for sizes up to 640x480 (no decoding; it fits USB 2 at 30 fps), MJPEG
// first above that.
func (c *v4l2Capture) chooseFormat(w, h int) (uint32, error) {
	var offered []uint32
	for i := range uint32(v4l2MaxFormats) {
		d := v4l2FmtDesc{index: i, typ: v4l2BufTypeVideoCapture}
		if err := c.dev.ioctl(vidiocEnumFmt, unsafe.Pointer(&d)); err != nil {
			if errors.Is(err, unix.EINVAL) {
				break // the end of the list
			}
			return 0, c.fail("VIDIOC_ENUM_FMT", err)
		}
		offered = append(offered, d.pixelformat)
	}
	prefs := []uint32{v4l2PixFmtMJPEG, v4l2PixFmtJPEG, v4l2PixFmtYUYV}
	if w <= v4l2SmallW && h <= v4l2SmallH {
		prefs = []uint32{v4l2PixFmtYUYV, v4l2PixFmtMJPEG, v4l2PixFmtJPEG}
	}
	for _, p := range prefs {
		for _, o := range offered {
			if o == p {
				return p, nil
			}
		}
	}
	if len(offered) == 0 {
		return 0, fmt.Errorf("camera %s: lists no capture formats: %w", c.path, errNotNative)
	}
	names := make([]string, len(offered))
	for i, o := range offered {
		names[i] = fourcc(o)
	}
	return 0, fmt.Errorf("camera %s: offers %s, neither YUYV nor MJPEG: %w", c.path, strings.Join(names, ","), errNotNative)
}

// setFormat asks for pf at w×h and takes the size the driver settles on.
func (c *v4l2Capture) setFormat(pf uint32, w, h int) error {
	f := v4l2Format{typ: v4l2BufTypeVideoCapture}
	f.fmt.pix = v4l2PixFormat{width: uint32(w), height: uint32(h), pixelformat: pf, field: v4l2FieldNone}
	if err := c.dev.ioctl(vidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return c.fail("VIDIOC_S_FMT "+fourcc(pf), err)
	}
	p := f.fmt.pix
	switch p.pixelformat {
	case v4l2PixFmtYUYV, v4l2PixFmtMJPEG, v4l2PixFmtJPEG:
	default:
		return fmt.Errorf("camera %s: asked for %s, the driver set %s: %w", c.path, fourcc(pf), fourcc(p.pixelformat), errNotNative)
	}
	if p.width == 0 || p.height == 0 || p.width > maxSide || p.height > maxSide {
		return fmt.Errorf("camera %s: driver set a %dx%d frame (want 1..%d)", c.path, p.width, p.height, maxSide)
	}
	c.pixfmt, c.w, c.h = p.pixelformat, int(p.width), int(p.height)
	if c.pixfmt != v4l2PixFmtYUYV {
		return nil
	}
	c.stride = int(p.bytesperline)
	if c.stride == 0 {
		c.stride = 2 * c.w
	}
	if c.w%2 != 0 || c.stride < 2*c.w || c.stride > 4*maxSide {
		return fmt.Errorf("camera %s: driver set YUYV %dx%d with %d bytes per row", c.path, c.w, c.h, p.bytesperline)
	}
	if p.sizeimage != 0 && uint64(p.sizeimage) < uint64(c.yuyvBytes()) {
		return fmt.Errorf("camera %s: driver set YUYV %dx%d (%d bytes per row) in %d bytes", c.path, c.w, c.h, c.stride, p.sizeimage)
	}
	return nil
}

// yuyvBytes is how many bytes a YUYV frame needs (the last row unpadded).
func (c *v4l2Capture) yuyvBytes() int { return c.stride*(c.h-1) + 2*c.w }

// setRate asks for fps when the driver can set a frame rate, and reads
// back the rate in effect. Failures are not fatal: the camera keeps its
// own rate.
func (c *v4l2Capture) setRate(fps float64) {
	p := v4l2StreamParm{typ: v4l2BufTypeVideoCapture}
	if err := c.dev.ioctl(vidiocGParm, unsafe.Pointer(&p)); err != nil {
		return
	}
	if num, den := fpsFraction(fps); den > 0 && p.capture.capability&v4l2CapTimePerFrame != 0 {
		sp := p
		sp.capture.timeperframe = v4l2Fract{numerator: num, denominator: den}
		_ = c.dev.ioctl(vidiocSParm, unsafe.Pointer(&sp))
		p = v4l2StreamParm{typ: v4l2BufTypeVideoCapture}
		if c.dev.ioctl(vidiocGParm, unsafe.Pointer(&p)) != nil {
			return
		}
	}
	if t := p.capture.timeperframe; t.numerator > 0 && t.denominator > 0 {
		c.rate = float64(t.denominator) / float64(t.numerator)
	}
}

// fpsFraction turns a rate into a frame interval num/den seconds, reduced:
// 30 gives 1/30, 29.97 gives 100/2997. It gives 0,0 for no rate.
func fpsFraction(fps float64) (num, den uint32) {
	if !(fps > 0) || fps > maxFPS {
		return 0, 0
	}
	n := uint32(math.Round(fps * 1000))
	if n == 0 {
		return 0, 0
	}
	a, b := uint32(1000), n
	for b != 0 {
		a, b = b, a%b
	}
	return 1000 / a, n / a
}

// mapBuffers asks for memory-mapped buffers, maps them and queues them.
func (c *v4l2Capture) mapBuffers() error {
	rb := v4l2RequestBuffers{count: v4l2Buffers, typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
	if err := c.dev.ioctl(vidiocReqbufs, unsafe.Pointer(&rb)); err != nil {
		return c.fail("VIDIOC_REQBUFS", err)
	}
	if rb.count < v4l2MinBuffers {
		return fmt.Errorf("camera %s: driver gave %d buffers, need at least %d", c.path, rb.count, v4l2MinBuffers)
	}
	n := min(int(rb.count), v4l2MaxBuffers)
	for i := range n {
		b := v4l2Buffer{index: uint32(i), typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
		if err := c.dev.ioctl(vidiocQuerybuf, unsafe.Pointer(&b)); err != nil {
			return c.fail("VIDIOC_QUERYBUF", err)
		}
		if b.length == 0 || b.length > v4l2MaxBufBytes ||
			(c.pixfmt == v4l2PixFmtYUYV && uint64(b.length) < uint64(c.yuyvBytes())) {
			return fmt.Errorf("camera %s: driver gave a %d-byte buffer for %s %dx%d", c.path, b.length, fourcc(c.pixfmt), c.w, c.h)
		}
		m, err := c.dev.mmap(int64(b.mOffset()), int(b.length))
		if err != nil {
			return c.fail("mmap", err)
		}
		c.bufs = append(c.bufs, m)
	}
	for i := range c.bufs {
		if err := c.queue(uint32(i)); err != nil {
			return err
		}
	}
	return nil
}

// queue hands buffer i back to the driver.
func (c *v4l2Capture) queue(i uint32) error {
	c.vb = v4l2Buffer{index: i, typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
	if err := c.dev.ioctl(vidiocQbuf, unsafe.Pointer(&c.vb)); err != nil {
		return c.fail("VIDIOC_QBUF", err)
	}
	return nil
}

// read waits for the next good frame and converts it into dst. Frames the
// driver flags as corrupt, empty ones and MJPEG frames that do not decode
// are skipped; v4l2MaxBad of them in a row is an error, and so is no frame
// at all for c.silence. It returns ctx.Err() once ctx is done.
func (c *v4l2Capture) read(dst *frame.Frame) error {
	bad := 0
	last := time.Now()
	for {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		wait := min(v4l2PollSlice, c.silence-time.Since(last))
		if wait <= 0 {
			return fmt.Errorf("camera %s: no frame for %v", c.path, c.silence)
		}
		ev, err := c.dev.poll(wait)
		if err != nil {
			if retryable(err) {
				continue
			}
			return c.fail("poll", err)
		}
		if ev == 0 {
			continue
		}
		c.vb = v4l2Buffer{typ: v4l2BufTypeVideoCapture, memory: v4l2MemoryMmap}
		if err := c.dev.ioctl(vidiocDqbuf, unsafe.Pointer(&c.vb)); err != nil {
			if retryable(err) {
				if ev&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
					// Nothing to dequeue, yet poll reports an error: waiting
					// would spin until c.silence.
					return fmt.Errorf("camera %s: device reports an error (poll events %#x)", c.path, ev)
				}
				continue
			}
			return c.fail("VIDIOC_DQBUF", err)
		}
		last = time.Now()
		i := c.vb.index
		if int64(i) >= int64(len(c.bufs)) {
			return fmt.Errorf("camera %s: driver returned buffer %d of %d", c.path, i, len(c.bufs))
		}
		cerr := c.convert(dst, c.bufs[i], c.vb.bytesused, c.vb.flags)
		if err := c.queue(i); err != nil {
			return err
		}
		if cerr == nil {
			return nil
		}
		if bad++; bad >= v4l2MaxBad {
			return fmt.Errorf("camera %s: %d bad frames in a row, the last: %w", c.path, bad, cerr)
		}
	}
}

// retryable reports a system call error that only means "try again".
func retryable(err error) bool {
	return errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN)
}

// convert turns the first used bytes of a dequeued buffer into dst.
func (c *v4l2Capture) convert(dst *frame.Frame, buf []byte, used, flags uint32) error {
	switch {
	case flags&v4l2BufFlagError != 0:
		return errors.New("frame flagged as corrupt by the driver")
	case used == 0:
		return errors.New("empty frame")
	case uint64(used) > uint64(len(buf)):
		return fmt.Errorf("driver reports %d bytes in a %d-byte buffer", used, len(buf))
	}
	data := buf[:used]
	if c.pixfmt == v4l2PixFmtYUYV {
		return yuyvToBGR(dst, data, c.w, c.h, c.stride)
	}
	return c.dec.decode(dst, data)
}

func (c *v4l2Capture) fps() float64 { return c.rate }

// close stops streaming and releases the buffers and the device; it is
// safe on a half-opened capture and when called twice.
func (c *v4l2Capture) close() {
	if c.closed {
		return
	}
	c.closed = true
	if c.streaming {
		typ := int32(v4l2BufTypeVideoCapture)
		_ = c.dev.ioctl(vidiocStreamoff, unsafe.Pointer(&typ))
		c.streaming = false
	}
	for _, b := range c.bufs {
		_ = c.dev.munmap(b)
	}
	c.bufs = nil
	c.dec.close()
	_ = c.dev.close()
}

// fourcc spells a V4L2 pixel format code, e.g. "H264".
func fourcc(v uint32) string {
	b := []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	for i, ch := range b {
		if ch < ' ' || ch > '~' {
			b[i] = '?'
		}
	}
	return strings.TrimRight(string(b), " ")
}

// cString is a NUL-terminated string from a kernel structure.
func cString(b []byte) string {
	for i, ch := range b {
		if ch == 0 {
			b = b[:i]
			break
		}
	}
	return strconv.Quote(string(b))
}
