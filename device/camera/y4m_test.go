package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"facegate/pipeline/frame"
)

// y4mFile builds a Y4M stream from a header's parameters and frames of
// raw planes.
func y4mFile(params string, frames ...[]byte) []byte {
	var b bytes.Buffer
	b.WriteString("YUV4MPEG2 " + params + "\n")
	for _, f := range frames {
		b.WriteString("FRAME\n")
		b.Write(f)
	}
	return b.Bytes()
}

// y4mPlanes makes one frame of w×h with distinct samples everywhere: luma
// steps by 7 from base, chroma samples swing widely so that a pixel given
// the wrong chroma sample comes out visibly wrong.
func y4mPlanes(w, h, cw, ch int, base byte) (y, cb, cr []byte) {
	y = make([]byte, w*h)
	for i := range y {
		y[i] = base + byte(7*i)
	}
	cb, cr = make([]byte, cw*ch), make([]byte, cw*ch)
	for i := range cb {
		cb[i] = byte(30 + 37*i)
		cr[i] = byte(230 - 41*i)
	}
	return y, cb, cr
}

// ycc is the reference conversion of one sample (convert.go's, tested
// there); these tests check which samples each pixel is made of.
func ycc(y, cb, cr byte, full bool) [3]byte {
	var p [3]byte
	putYCC(p[:], int32(y), int32(cb), int32(cr), full)
	return p
}

func TestY4MLayouts(t *testing.T) {
	const w, h = 5, 3 // odd sides: chroma planes round up
	tests := []struct {
		name, params   string
		hShift, vShift uint
		mono, full     bool
	}{
		{name: "420jpeg", params: "C420jpeg", hShift: 1, vShift: 1},
		{name: "420 by default", params: "", hShift: 1, vShift: 1},
		{name: "420paldv", params: "C420paldv", hShift: 1, vShift: 1},
		{name: "420mpeg2", params: "C420mpeg2 Ip A1:1", hShift: 1, vShift: 1},
		{name: "420", params: "C420", hShift: 1, vShift: 1},
		{name: "422", params: "C422", hShift: 1},
		{name: "444", params: "C444"},
		{name: "mono", params: "Cmono", mono: true},
		{name: "444 full range", params: "C444 XCOLORRANGE=FULL", full: true},
		{name: "420 full range", params: "XCOLORRANGE=FULL C420jpeg XYSCSS=420JPEG", hShift: 1, vShift: 1, full: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cw, ch := (w+(1<<tt.hShift)-1)>>tt.hShift, (h+(1<<tt.vShift)-1)>>tt.vShift
			var frames [][]byte
			var planes [2][3][]byte
			for i := range planes {
				y, cb, cr := y4mPlanes(w, h, cw, ch, byte(16+100*i))
				planes[i] = [3][]byte{y, cb, cr}
				f := append([]byte(nil), y...)
				if !tt.mono {
					f = append(append(f, cb...), cr...)
				}
				frames = append(frames, f)
			}
			data := y4mFile(fmt.Sprintf("W%d H%d F25:1 %s", w, h, tt.params), frames...)
			yr, err := newY4M(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if yr.rate != 25 {
				t.Fatalf("rate %g, want 25", yr.rate)
			}
			var dst frame.Frame
			for i, pl := range planes {
				if err := yr.next(&dst); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if dst.Width != w || dst.Height != h || dst.Stride != 3*w || dst.Format != frame.BGR {
					t.Fatalf("frame %d: %dx%d stride %d %v", i, dst.Width, dst.Height, dst.Stride, dst.Format)
				}
				for y := range h {
					for x := range w {
						var want [3]byte
						v := pl[0][y*w+x]
						if tt.mono {
							want = [3]byte{v, v, v}
						} else {
							c := (y>>tt.vShift)*cw + x>>tt.hShift
							want = ycc(v, pl[1][c], pl[2][c], tt.full)
						}
						got := [3]byte(dst.Pix[y*dst.Stride+3*x:])
						if got != want {
							t.Fatalf("frame %d pixel %d,%d: BGR %v, want %v", i, x, y, got, want)
						}
					}
				}
			}
			if err := yr.next(&dst); !errors.Is(err, io.EOF) {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

// TestY4MRanges checks the range choice against colours whose value is
// known without the conversion code: video-range black, white and red,
// and full-range black and white.
func TestY4MRanges(t *testing.T) {
	tests := []struct {
		params    string
		y, cb, cr byte
		want      [3]byte // BGR
	}{
		{"", 16, 128, 128, [3]byte{0, 0, 0}},
		{"", 235, 128, 128, [3]byte{255, 255, 255}},
		{"", 81, 90, 240, [3]byte{0, 0, 255}},
		{"XCOLORRANGE=LIMITED", 235, 128, 128, [3]byte{255, 255, 255}},
		{"XCOLORRANGE=FULL", 0, 128, 128, [3]byte{0, 0, 0}},
		{"XCOLORRANGE=FULL", 255, 128, 128, [3]byte{255, 255, 255}},
		{"XCOLORRANGE=FULL", 128, 128, 128, [3]byte{128, 128, 128}},
	}
	for _, tt := range tests {
		data := y4mFile("W2 H2 C420jpeg "+tt.params, []byte{tt.y, tt.y, tt.y, tt.y, tt.cb, tt.cr})
		yr, err := newY4M(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var dst frame.Frame
		if err := yr.next(&dst); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 12; i += 3 {
			if got := [3]byte(dst.Pix[i:]); got != tt.want {
				t.Fatalf("%q Y%d Cb%d Cr%d: BGR %v, want %v", tt.params, tt.y, tt.cb, tt.cr, got, tt.want)
			}
		}
	}
}

func TestY4MRate(t *testing.T) {
	tests := []struct {
		params string
		want   float64
	}{
		{"F30000:1001", 30000.0 / 1001},
		{"F15:1", 15},
		{"", 0},
		{"F0:1", 0},
		{"F25:0", 0},
		{"F25", 0},
		{"Fx:y", 0},
		{"F-5:1", 0},
	}
	for _, tt := range tests {
		yr, err := newY4M(bytes.NewReader(y4mFile("W2 H2 " + tt.params)))
		if err != nil {
			t.Fatalf("%q: %v", tt.params, err)
		}
		if yr.rate != tt.want {
			t.Errorf("%q: rate %g, want %g", tt.params, yr.rate, tt.want)
		}
	}
}

func TestY4MHeaderErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
		notNative        bool
	}{
		{"empty", "", "empty or truncated header", false},
		{"bad magic", "YUV4MPEG W2 H2\n", "not a YUV4MPEG2 file", false},
		{"not y4m", "RIFF....AVI LIST\n", "not a YUV4MPEG2 file", false},
		{"no width", "YUV4MPEG2 H2\n", "frame size", false},
		{"no height", "YUV4MPEG2 W2\n", "frame size", false},
		{"zero width", "YUV4MPEG2 W0 H2\n", "frame size", false},
		{"huge", "YUV4MPEG2 W8193 H2\n", "frame size", false},
		{"bad number", "YUV4MPEG2 W2x H2\n", "frame size", false},
		{"10 bit", "YUV4MPEG2 W2 H2 C420p10\n", "unsupported Y4M colour space", true},
		{"411", "YUV4MPEG2 W2 H2 C411\n", "unsupported Y4M colour space", true},
		{"endless header", "YUV4MPEG2 W2 H2 " + strings.Repeat("X", 100<<10), "longer than", false},
		{"long header", "YUV4MPEG2 W2 H2 " + strings.Repeat("X", 2<<10) + "\n", "longer than", false},
	}
	for _, tt := range tests {
		_, err := newY4M(strings.NewReader(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.want)
			continue
		}
		if errors.Is(err, errNotNative) != tt.notNative {
			t.Errorf("%s: errors.Is(%v, errNotNative) = %v", tt.name, err, !tt.notNative)
		}
	}
}

func TestY4MFrameErrors(t *testing.T) {
	frame1 := make([]byte, 6) // 2x2 4:2:0
	whole := y4mFile("W2 H2", frame1, frame1)
	tests := []struct {
		name   string
		data   []byte
		frames int
		eof    bool // else an error saying "garbage"
	}{
		{"whole", whole, 2, true},
		{"cut in the last frame's planes", whole[:len(whole)-1], 1, true},
		{"cut right after FRAME", whole[:len(whole)-6], 1, true},
		{"cut inside FRAME", whole[:len(whole)-9], 1, true},
		{"frame parameters", append([]byte("YUV4MPEG2 W2 H2\nFRAME Ip XFOO=1\n"), frame1...), 1, true},
		{"garbage instead of FRAME", append(y4mFile("W2 H2", frame1), "JUNK\n"...), 1, false},
		{"garbage at the end", append(y4mFile("W2 H2", frame1), "JU"...), 1, false},
		{"FRAMES is not FRAME", append(y4mFile("W2 H2", frame1), "FRAMES\n"...), 1, false},
		{"endless frame line", append(y4mFile("W2 H2", frame1), "FRAME "+strings.Repeat("x", 100<<10)...), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yr, err := newY4M(bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			var dst frame.Frame
			n := 0
			for ; n < 10; n++ {
				if err = yr.next(&dst); err != nil {
					break
				}
			}
			if n != tt.frames {
				t.Fatalf("%d frames, want %d", n, tt.frames)
			}
			if tt.eof != errors.Is(err, io.EOF) {
				t.Fatalf("error %v; want io.EOF: %v", err, tt.eof)
			}
			if !tt.eof && !strings.Contains(err.Error(), "garbage") && !strings.Contains(err.Error(), "longer than") {
				t.Fatalf("error %q is not clear", err)
			}
		})
	}
}

// TestY4MHugeClaimSmallFile: a header claiming the largest frame costs
// memory in proportion to the bytes that are really there.
func TestY4MHugeClaimSmallFile(t *testing.T) {
	data := append([]byte("YUV4MPEG2 W8192 H8192 C444\nFRAME\n"), make([]byte, 1000)...)
	yr, err := newY4M(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var dst frame.Frame
	if err := yr.next(&dst); !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want io.EOF", err)
	}
	if cap(yr.buf) > 2*y4mGrowStep {
		t.Fatalf("buffered %d bytes for a 1000-byte frame", cap(yr.buf))
	}
}

func TestY4MFiles(t *testing.T) {
	tests := []struct {
		file   string
		w, h   int
		frames int
	}{
		{"video/mark_zuckerberg_640x480_15fps_2s.y4m", 640, 480, 30},
		{"video/scarlett_johansson_320x240_15fps_5s.y4m", 320, 240, 75},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := testdata(t, tt.file)
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := openY4M(context.Background(), spec{kind: File, target: p}, Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			if c.fps() != 15 {
				t.Fatalf("fps %g, want 15", c.fps())
			}
			var dst frame.Frame
			n := 0
			for {
				err := c.read(&dst)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("frame %d: %v", n, err)
				}
				if dst.Width != tt.w || dst.Height != tt.h {
					t.Fatalf("frame %d is %dx%d", n, dst.Width, dst.Height)
				}
				if n == 0 {
					checkFirstY4MFrame(t, raw, &dst)
				}
				n++
			}
			if n != tt.frames {
				t.Fatalf("%d frames, want %d", n, tt.frames)
			}
		})
	}
}

// checkFirstY4MFrame compares pixels of the first frame with samples
// picked straight from the file's bytes (4:2:0, video range), and checks
// the frame is a picture, not a flat fill.
func checkFirstY4MFrame(t *testing.T, raw []byte, f *frame.Frame) {
	t.Helper()
	start := bytes.Index(raw, []byte("\nFRAME\n"))
	if start < 0 {
		t.Fatal("no FRAME in the file")
	}
	w, h := f.Width, f.Height
	yp := raw[start+7:]
	cb, cr := yp[w*h:], yp[w*h+w*h/4:]
	for _, pt := range [][2]int{{0, 0}, {w - 1, 0}, {w / 2, h / 2}, {w/3 + 1, h/5 + 1}, {w - 1, h - 1}} {
		x, y := pt[0], pt[1]
		c := (y/2)*(w/2) + x/2
		want := ycc(yp[y*w+x], cb[c], cr[c], false)
		if got := [3]byte(f.Pix[y*f.Stride+3*x:]); got != want {
			t.Fatalf("pixel %d,%d: %v, want %v", x, y, got, want)
		}
	}
	lo, hi := f.Pix[0], f.Pix[0]
	for _, v := range f.Pix {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo < 100 {
		t.Fatalf("pixel range %d..%d: the frame looks flat", lo, hi)
	}
}

// loopY4M is an endless Y4M stream: its header, then the same frame again
// and again.
type loopY4M struct {
	data []byte // header + one frame
	hdr  int
	off  int
}

func newLoopY4M(w, h int) *loopY4M {
	y, cb, cr := y4mPlanes(w, h, w/2, h/2, 16)
	data := y4mFile(fmt.Sprintf("W%d H%d F15:1 C420jpeg", w, h), append(append(y, cb...), cr...))
	return &loopY4M{data: data, hdr: bytes.IndexByte(data, '\n') + 1}
}

func (l *loopY4M) Read(p []byte) (int, error) {
	if l.off == len(l.data) {
		l.off = l.hdr
	}
	n := copy(p, l.data[l.off:])
	l.off += n
	return n, nil
}

func TestY4MReadsWithoutAllocating(t *testing.T) {
	yr, err := newY4M(newLoopY4M(64, 48))
	if err != nil {
		t.Fatal(err)
	}
	var dst frame.Frame
	if err := yr.next(&dst); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := yr.next(&dst); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%g allocations per frame, want 0", allocs)
	}
}

func BenchmarkY4MFrame640x480(b *testing.B) {
	yr, err := newY4M(newLoopY4M(640, 480))
	if err != nil {
		b.Fatal(err)
	}
	var dst frame.Frame
	b.ReportAllocs()
	b.SetBytes(640 * 480 * 3 / 2)
	for b.Loop() {
		if err := yr.next(&dst); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzY4M(f *testing.F) {
	two := y4mFile("W4 H2 F15:1 C420jpeg", bytes.Repeat([]byte{90}, 12), bytes.Repeat([]byte{200}, 12))
	f.Add(two)
	f.Add(two[:len(two)-3])
	f.Add(two[:30])
	f.Add(two[:10])
	f.Add(y4mFile("W3 H3 Cmono XCOLORRANGE=FULL", make([]byte, 9)))
	f.Add(y4mFile("W3 H1 C444", make([]byte, 9)))
	f.Add(y4mFile("W3 H3 C422", make([]byte, 21)))
	f.Fuzz(func(t *testing.T, data []byte) {
		yr, err := newY4M(bytes.NewReader(data))
		if err != nil {
			return
		}
		var dst frame.Frame
		for n := 0; ; n++ {
			if n > len(data)/6 {
				t.Fatalf("%d frames from %d bytes", n, len(data))
			}
			if err := yr.next(&dst); err != nil {
				return
			}
			if dst.Width < 1 || dst.Height < 1 || len(dst.Pix) != 3*dst.Width*dst.Height {
				t.Fatalf("frame %dx%d with %d bytes", dst.Width, dst.Height, len(dst.Pix))
			}
			if dst.Width*dst.Height > len(data) {
				t.Fatalf("a %dx%d frame from %d bytes", dst.Width, dst.Height, len(data))
			}
		}
	})
}
