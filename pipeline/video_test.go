package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"facegate/internal/testenv"
	"facegate/pipeline/frame"
)

// testdata returns ../shared/testdata relative to the module root (or
// $FACEGATE_TESTDATA), skipping the test when it is absent.
func testdata(t testing.TB) string {
	return testenv.Testdata(t)
}

// splitMJPEG cuts a concatenation of JPEG files at each start-of-image
// marker that begins a new file.
func splitMJPEG(data []byte) [][]byte {
	soi := []byte{0xFF, 0xD8, 0xFF}
	var frames [][]byte
	for len(data) > 0 {
		if !bytes.HasPrefix(data, soi) {
			break
		}
		next := bytes.Index(data[3:], soi)
		if next < 0 {
			frames = append(frames, data)
			break
		}
		frames = append(frames, data[:next+3])
		data = data[next+3:]
	}
	return frames
}

// mjpegSource plays an MJPEG file in pure Go (no gocv): each Next decodes
// the next JPEG into a reused RGB frame on the shared scene clock (or
// copies it from the decoded cache).
type mjpegSource struct {
	name    string
	jpegs   [][]byte
	decoded [][]byte // when set, frames already decoded to RGB (640×480)
	i       int
	clock   *atomic.Uint64
	f       frame.Frame
	onNext  func(seq uint64)
}

func loadMJPEG(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata(t), "video", name))
	if err != nil {
		t.Skipf("video absent: %v", err)
	}
	frames := splitMJPEG(data)
	if len(frames) == 0 {
		t.Fatalf("%s: no JPEG frames", name)
	}
	return frames
}

// clipCache holds decoded clips under the race detector, where decoding
// is slow; videoStride plays every third frame there (the clips move
// slowly, so tracking is unaffected).
var clipCache sync.Map // name → [][]byte

func videoStride() int {
	if raceEnabled {
		return 3
	}
	return 1
}

// openClip returns a source for a clip, decoded once per test binary
// under the race detector.
func openClip(t testing.TB, name string, clock *atomic.Uint64, onNext func(uint64)) *mjpegSource {
	t.Helper()
	jpegs := loadMJPEG(t, name)
	var sub [][]byte
	for i := 0; i < len(jpegs); i += videoStride() {
		sub = append(sub, jpegs[i])
	}
	s := &mjpegSource{name: name, jpegs: sub, clock: clock, onNext: onNext}
	if !raceEnabled {
		return s
	}
	if v, ok := clipCache.Load(name); ok {
		s.decoded = v.([][]byte)
		return s
	}
	var f frame.Frame
	for _, j := range sub {
		img, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		toRGB(img, &f)
		s.decoded = append(s.decoded, bytes.Clone(f.Pix))
	}
	clipCache.Store(name, s.decoded)
	return s
}

// clipLen is the number of frames openClip plays.
func clipLen(t testing.TB, name string) int {
	n := len(loadMJPEG(t, name))
	return (n + videoStride() - 1) / videoStride()
}

func (s *mjpegSource) Name() string { return s.name }

func (s *mjpegSource) Close() error { return nil }

func (s *mjpegSource) Next(ctx context.Context) (*frame.Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.i >= len(s.jpegs) {
		return nil, io.EOF
	}
	if s.decoded != nil {
		pix := s.decoded[s.i]
		s.f = frame.Frame{Pix: pix, Width: 640, Height: 480, Stride: 3 * 640, Format: frame.RGB}
	} else {
		img, err := jpeg.Decode(bytes.NewReader(s.jpegs[s.i]))
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", s.i, err)
		}
		toRGB(img, &s.f)
	}
	s.i++
	seq := s.clock.Add(1)
	if s.onNext != nil {
		s.onNext(seq)
	}
	s.f.Seq, s.f.Time = seq, seqTime(seq)
	return &s.f, nil
}

// toRGB converts img into f's reused packed RGB buffer.
func toRGB(img image.Image, f *frame.Frame) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if cap(f.Pix) < 3*w*h {
		f.Pix = make([]byte, 3*w*h)
	}
	f.Pix, f.Width, f.Height, f.Stride, f.Format = f.Pix[:3*w*h], w, h, 3*w, frame.RGB
	yc, ok := img.(*image.YCbCr)
	for y := range h {
		for x := range w {
			o := 3 * (y*w + x)
			if ok {
				yi, ci := yc.YOffset(b.Min.X+x, b.Min.Y+y), yc.COffset(b.Min.X+x, b.Min.Y+y)
				f.Pix[o], f.Pix[o+1], f.Pix[o+2] = color.YCbCrToRGB(yc.Y[yi], yc.Cb[ci], yc.Cr[ci])
				continue
			}
			r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			f.Pix[o], f.Pix[o+1], f.Pix[o+2] = byte(r>>8), byte(g>>8), byte(bb>>8)
		}
	}
}

func TestSplitMJPEG(t *testing.T) {
	a := []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 0xFF, 0xD9}
	b := []byte{0xFF, 0xD8, 0xFF, 0xDB, 3, 0xFF, 0xD9}
	got := splitMJPEG(append(append([]byte{}, a...), b...))
	if len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("split %x", got)
	}
	if len(splitMJPEG([]byte("not a jpeg"))) != 0 {
		t.Error("garbage split into frames")
	}
	frames := loadMJPEG(t, "mark_zuckerberg_640x480_15fps_5s.mjpeg")
	if len(frames) != 75 {
		t.Errorf("%d frames, want 75 (MANIFEST.tsv)", len(frames))
	}
	var f frame.Frame
	img, err := jpeg.Decode(bytes.NewReader(frames[74]))
	if err != nil {
		t.Fatal(err)
	}
	toRGB(img, &f)
	if f.Width != 640 || f.Height != 480 {
		t.Errorf("frame %dx%d", f.Width, f.Height)
	}
	if errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
}

// A file that vanishes while it plays: the stream ends, reopening fails
// while the file is gone (with backoff, not a spin), and frames flow again
// once it is back.
func TestVanishingFileIsReopened(t *testing.T) {
	jpegs := loadMJPEG(t, "scarlett_johansson_640x480_15fps_5s.mjpeg")[:5]
	path := filepath.Join(t.TempDir(), "clip.mjpeg")
	write := func() {
		if err := os.WriteFile(path, bytes.Join(jpegs, nil), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write()
	var clock atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var opened atomic.Int32
	open := func(context.Context) (Source, error) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		n := opened.Add(1)
		return &mjpegSource{name: "clip", jpegs: splitMJPEG(data), clock: &clock, onNext: func(seq uint64) {
			if n == 1 && seq == 3 {
				if err := os.Remove(path); err != nil { // vanishes mid-stream
					t.Error(err)
				}
			}
			if n == 2 && seq == 8 {
				cancel()
			}
		}}, nil
	}
	sc := during(0, 0)
	r, err := NewRunner(Config{Open: open, Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc}, Matcher: newFakeGallery()})
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	r.sleep = func(ctx context.Context, d time.Duration) error {
		waits++
		if waits == 4 { // the file comes back after three failed opens
			write()
		}
		return ctx.Err()
	}
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	// Open 1 played 5 frames (already read when the file vanished), open 2
	// played 3 more; in between, 3 failed opens each waited.
	if st.Frames != 8 || st.Opens != 2 || st.Failures != 4 || waits != 4 {
		t.Errorf("stats %+v after %d waits: want 8 frames, 2 opens, 4 failures", st, waits)
	}
}
