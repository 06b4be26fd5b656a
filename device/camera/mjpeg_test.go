package camera

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facegate/pipeline/frame"
)

// solidJPEG encodes a w×h JPEG filled with one colour.
func solidJPEG(t testing.TB, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// texturedJPEG encodes a w×h grey texture, for a scan of realistic length.
func texturedJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i*i>>7 ^ i>>5)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withThumbnail inserts an EXIF APP1 segment carrying a whole JPEG
// thumbnail (its own SOI … EOI) after the image's SOI, as cameras do.
func withThumbnail(jpg, thumb []byte) []byte {
	var seg bytes.Buffer
	seg.WriteString("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00") // TIFF header, empty IFD0
	seg.Write(thumb)
	out := []byte{0xff, 0xd8, 0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(out[4:], uint16(seg.Len()+2))
	out = append(out, seg.Bytes()...)
	return append(out, jpg[2:]...)
}

// brokenHuffman returns a copy of a JPEG whose first Huffman table is
// garbage: the marker structure is intact (the frame splits) but it cannot
// be decoded.
func brokenHuffman(t testing.TB, jpg []byte) []byte {
	t.Helper()
	out := bytes.Clone(jpg)
	i := bytes.Index(out, []byte{0xff, 0xc4})
	if i < 0 {
		t.Fatal("no DHT in the JPEG")
	}
	n := int(binary.BigEndian.Uint16(out[i+2:]))
	for j := i + 5; j < i+2+n; j++ { // keep the class/id byte, break the counts
		out[j] = 0xfe
	}
	return out
}

// splitAll runs the splitter to its end, returning copies of the frames
// and the error that ended it.
func splitAll(data []byte) ([][]byte, error) {
	s := newMJPEGSplitter(bytes.NewReader(data))
	var frames [][]byte
	for {
		f, err := s.next()
		if err != nil {
			return frames, err
		}
		frames = append(frames, bytes.Clone(f))
	}
}

func TestMJPEGSplit(t *testing.T) {
	a := solidJPEG(t, 32, 16, color.RGBA{200, 30, 30, 255})
	b := withThumbnail(solidJPEG(t, 32, 16, color.RGBA{30, 200, 30, 255}), solidJPEG(t, 8, 8, color.RGBA{1, 2, 3, 255}))
	c := texturedJPEG(t, 64, 64)
	// A stream cut inside the entropy-coded data (the bulk of a frame)
	// and resumed with a new frame.
	cutScan := c[:bytes.Index(c, []byte{0xff, 0xda})+40]
	// Hand-made: restart markers, a stuffed FF 00, fill bytes before a
	// marker, and a second scan (as progressive JPEGs have).
	hand := []byte{
		0xff, 0xd8,
		0xff, 0xdb, 0x00, 0x04, 0xff, 0xd9, // a segment whose payload looks like EOI
		0xff, 0xda, 0x00, 0x03, 0x00,
		0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xd7, 0x78,
		0xff, 0xff, 0xc4, 0x00, 0x02, // fill byte, then DHT
		0xff, 0xda, 0x00, 0x02, 0x9a, 0xff, 0x00,
		0xff, 0xd9,
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
		want [][]byte
	}{
		{"plain", cat(a, c), [][]byte{a, c}},
		{"exif thumbnail", cat(a, b, c), [][]byte{a, b, c}},
		{"junk around", cat([]byte("junk\xff\x00\xff"), a, []byte("\x00\xff\xffmore junk"), b, []byte("tail\xff")), [][]byte{a, b}},
		{"markers in the scan", cat(hand, a), [][]byte{hand, a}},
		{"cut last frame", cat(a, c[:len(c)/2]), [][]byte{a}},
		{"cut frame then a new one", cat(a, cutScan, b), [][]byte{a, b}},
		{"cut inside a segment", cat(a, b[:30]), [][]byte{a}},
		{"broken structure", cat(a, []byte{0xff, 0xd8, 0x12, 0x34}, c), [][]byte{a, c}},
		{"bad segment length", cat(a, []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01}, c), [][]byte{a, c}},
		{"empty", nil, nil},
		{"only junk", []byte("no jpeg here \xff\xd9"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitAll(tt.data)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("ended with %v, want io.EOF", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d frames, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tt.want[i]) {
					t.Fatalf("frame %d: %d bytes, want %d bytes (equal: false)", i, len(got[i]), len(tt.want[i]))
				}
			}
		})
	}
}

func TestMJPEGSplitSize(t *testing.T) {
	a := solidJPEG(t, 16, 16, color.RGBA{1, 2, 3, 255})
	// A frame of endless APP segments passes the frame cap.
	var huge bytes.Buffer
	huge.Write([]byte{0xff, 0xd8})
	seg := append([]byte{0xff, 0xe5, 0xff, 0xff}, make([]byte, 0xfffd)...)
	for huge.Len() <= mjpegMaxFrame {
		huge.Write(seg)
	}
	_, err := splitAll(append(bytes.Clone(a), huge.Bytes()...))
	if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("frame over the cap: %v", err)
	}

	// Junk without a frame start gives up after the junk cap.
	s := newMJPEGSplitter(io.MultiReader(bytes.NewReader(a), io.LimitReader(zeros{}, mjpegMaxJunk+1<<20), bytes.NewReader(a)))
	if _, err := s.next(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.next(); err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("after too much junk: %v", err)
	}

	// Less junk than the cap is skipped.
	s = newMJPEGSplitter(io.MultiReader(bytes.NewReader(a), io.LimitReader(zeros{}, 1<<20), bytes.NewReader(a)))
	for i := range 2 {
		if f, err := s.next(); err != nil || !bytes.Equal(f, a) {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// writeMJPEG writes frames into a temporary .mjpeg file.
func writeMJPEG(t *testing.T, frames ...[]byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clip.mjpeg")
	if err := os.WriteFile(p, bytes.Join(frames, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// meanBGR is a frame's average colour.
func meanBGR(f *frame.Frame) [3]int {
	var s [3]int
	for y := range f.Height {
		for x := range f.Width {
			for c := range 3 {
				s[c] += int(f.Pix[y*f.Stride+3*x+c])
			}
		}
	}
	n := f.Width * f.Height
	return [3]int{s[0] / n, s[1] / n, s[2] / n}
}

func near(a, b [3]int, tol int) bool {
	for i := range a {
		if a[i]-b[i] > tol || b[i]-a[i] > tol {
			return false
		}
	}
	return true
}

func TestMJPEGCaptureSkipsBadFrames(t *testing.T) {
	red := solidJPEG(t, 32, 16, color.RGBA{220, 20, 20, 255})
	green := withThumbnail(solidJPEG(t, 24, 16, color.RGBA{20, 220, 20, 255}), solidJPEG(t, 8, 8, color.RGBA{1, 2, 3, 255}))
	blue := solidJPEG(t, 16, 32, color.RGBA{20, 20, 220, 255})
	bad := brokenHuffman(t, red)
	if _, err := jpeg.Decode(bytes.NewReader(bad)); err == nil {
		t.Fatal("the broken frame decodes")
	}
	// A frame claiming more than maxSide is refused before decoding.
	tooBig := bytes.Clone(red)
	i := bytes.Index(tooBig, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(tooBig[i+5:], 60000)
	binary.BigEndian.PutUint16(tooBig[i+7:], 60000)

	p := writeMJPEG(t, red, bad, []byte("junk"), green, tooBig, blue)
	c, err := openMJPEG(context.Background(), spec{kind: File, target: p}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if c.fps() != 0 {
		t.Fatalf("fps %g: raw MJPEG has no rate", c.fps())
	}
	want := []struct {
		w, h int
		bgr  [3]int
	}{{32, 16, [3]int{20, 20, 220}}, {24, 16, [3]int{20, 220, 20}}, {16, 32, [3]int{220, 20, 20}}}
	var dst frame.Frame
	for i, w := range want {
		if err := c.read(&dst); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if dst.Width != w.w || dst.Height != w.h || dst.Format != frame.BGR {
			t.Fatalf("frame %d: %dx%d, want %dx%d", i, dst.Width, dst.Height, w.w, w.h)
		}
		if m := meanBGR(&dst); !near(m, w.bgr, 6) {
			t.Fatalf("frame %d: mean BGR %v, want about %v", i, m, w.bgr)
		}
	}
	if err := c.read(&dst); !errors.Is(err, io.EOF) {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	if n := c.(*mjpegCapture).skipped; n != 2 {
		t.Fatalf("skipped %d frames, want 2", n)
	}
}

func TestMJPEGTooManyBadFrames(t *testing.T) {
	good := solidJPEG(t, 16, 16, color.RGBA{100, 100, 100, 255})
	bad := brokenHuffman(t, good)
	for _, nbad := range []int{mjpegMaxFailures - 1, mjpegMaxFailures} {
		frames := [][]byte{good}
		for range nbad {
			frames = append(frames, bad)
		}
		frames = append(frames, good)
		c, err := openMJPEG(context.Background(), spec{kind: File, target: writeMJPEG(t, frames...)}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		var dst frame.Frame
		if err := c.read(&dst); err != nil {
			t.Fatal(err)
		}
		err = c.read(&dst)
		c.close()
		if nbad < mjpegMaxFailures && err != nil {
			t.Fatalf("%d bad frames in a row: %v", nbad, err)
		}
		if nbad >= mjpegMaxFailures && (err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "failed to decode")) {
			t.Fatalf("%d bad frames in a row: %v, want a decode error", nbad, err)
		}
	}
}

// loopReader repeats data forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.off == len(l.data) {
		l.off = 0
	}
	n := copy(p, l.data[l.off:])
	l.off += n
	return n, nil
}

// BenchmarkMJPEGFrame640x480 reads the frames of a real clip (held in
// memory, replayed endlessly): split and decode.
func BenchmarkMJPEGFrame640x480(b *testing.B) {
	data, err := os.ReadFile(testdata(b, "video/mark_zuckerberg_640x480_15fps_5s.mjpeg"))
	if err != nil {
		b.Fatal(err)
	}
	c := &mjpegCapture{s: newMJPEGSplitter(&loopReader{data: data})}
	var dst frame.Frame
	b.ReportAllocs()
	for b.Loop() {
		if err := c.read(&dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMJPEGSplit(b *testing.B) {
	jpg := texturedJPEG(b, 640, 480)
	s := newMJPEGSplitter(&loopReader{data: jpg})
	b.ReportAllocs()
	b.SetBytes(int64(len(jpg)))
	for b.Loop() {
		if _, err := s.next(); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzMJPEGSplit(f *testing.F) {
	a := solidJPEG(f, 8, 8, color.RGBA{10, 20, 30, 255})
	thumb := withThumbnail(a, a)
	f.Add(a)
	f.Add(append(bytes.Clone(a), thumb...))
	f.Add(append([]byte("junk\xff"), a[:len(a)/2]...))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0x00, 0xff, 0xd0, 0xff, 0xff, 0xd9})
	f.Add([]byte{0xff, 0xd8, 0xff, 0xd8, 0xff, 0xd9})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newMJPEGSplitter(bytes.NewReader(data))
		total := 0
		for {
			fr, err := s.next()
			if err != nil {
				return
			}
			if len(fr) < 4 || fr[0] != 0xff || fr[1] != 0xd8 || fr[len(fr)-2] != 0xff || fr[len(fr)-1] != 0xd9 {
				t.Fatalf("frame % x is not SOI … EOI", fr[:min(len(fr), 8)])
			}
			if total += len(fr); total > len(data) {
				t.Fatalf("%d bytes of frames from %d bytes", total, len(data))
			}
		}
	})
}
