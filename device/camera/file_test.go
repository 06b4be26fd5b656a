package camera

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
	"testing"
	"time"
)

// TestFilesThroughCamera plays the video files the daemon reads itself
// through a whole Camera, at their own size and resized (down, up).
func TestFilesThroughCamera(t *testing.T) {
	tests := []struct {
		file          string
		width, height int // requested; 0: the file's
		wantW, wantH  int
		frames        int
	}{
		{"video/mark_zuckerberg_640x480_15fps_2s.y4m", 0, 0, 640, 480, 30},
		{"video/mark_zuckerberg_640x480_15fps_2s.y4m", 160, 120, 160, 120, 30},
		{"video/mark_zuckerberg_640x480_15fps_2s.y4m", 800, 600, 800, 600, 30},
		{"video/scarlett_johansson_320x240_15fps_5s.y4m", 0, 0, 320, 240, 75},
		{"video/scarlett_johansson_640x480_15fps_5s.mjpeg", 0, 0, 640, 480, 75},
		{"video/mark_zuckerberg_640x480_15fps_5s.mjpeg", 320, 240, 320, 240, 75},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s@%dx%d", filepath.Base(tt.file), tt.width, tt.height), func(t *testing.T) {
			p := testdata(t, tt.file)
			c, err := Open(context.Background(), Config{Source: p, Width: tt.width, Height: tt.height, Unpaced: true, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f, err := c.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// A face video is not uniform: real pixels came through.
			lo, hi := f.Pix[0], f.Pix[0]
			for _, v := range f.Pix {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo < 50 {
				t.Fatalf("pixel range %d..%d: frame looks empty", lo, hi)
			}
			if f.Width != tt.wantW || f.Height != tt.wantH {
				t.Fatalf("first frame %dx%d, want %dx%d", f.Width, f.Height, tt.wantW, tt.wantH)
			}
			if n := 1 + countFrames(t, c, tt.wantW, tt.wantH); n != tt.frames {
				t.Fatalf("read %d frames, want %d", n, tt.frames)
			}
			if st := c.Stats(); st.Drops != 0 || st.Frames != uint64(tt.frames) || st.Kind != File {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// countFrames takes frames of w×h until io.EOF and returns how many.
func countFrames(t *testing.T, c *Camera, w, h int) int {
	t.Helper()
	n := 0
	for {
		f, err := c.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if f.Width != w || f.Height != h || f.Stride != 3*w || len(f.Pix) < f.Stride*h {
			t.Fatalf("frame %d: %dx%d stride %d len %d, want %dx%d", n, f.Width, f.Height, f.Stride, len(f.Pix), w, h)
		}
		n++
	}
}

func TestLoopRestartsFile(t *testing.T) {
	p := testdata(t, "video/mark_zuckerberg_640x480_15fps_2s.y4m")
	c, err := Open(context.Background(), Config{Source: p, Loop: true, Unpaced: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var last uint64
	for i := range 45 { // 30 frames a pass
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Seq != last+1 {
			t.Fatalf("frame %d has seq %d after %d", i, f.Seq, last)
		}
		last = f.Seq
	}
	if st := c.Stats(); st.Reconnects != 0 || st.State != Streaming {
		t.Fatalf("stats %+v: a loop is not a reconnect", st)
	}
}

func TestPacedFileDropsForAnIdleConsumer(t *testing.T) {
	p := testdata(t, "video/scarlett_johansson_320x240_15fps_5s.y4m")
	c, err := Open(context.Background(), Config{Source: p, FPS: 200, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the whole file to play", func() bool { return c.Stats().State == Ended })
	f, err := c.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); f.Seq != 75 || st.Drops != 74 {
		t.Fatalf("got seq %d, stats %+v: want only the newest frame (75) and 74 drops", f.Seq, st)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
}

func TestImageSource(t *testing.T) {
	p := testdata(t, "faces/Mark_Zuckerberg/1.jpg")
	c, err := Open(context.Background(), Config{Source: p, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, _, err := image.DecodeConfig(fh)
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != img.Width || f.Height != img.Height {
		t.Fatalf("frame %dx%d, image %dx%d", f.Width, f.Height, img.Width, img.Height)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("an image without loop gives one frame, then: %v", err)
	}
}

// writeClip writes a small MJPEG clip of n 64x48 frames (concatenated
// JPEGs), each with a bright square that moves.
func writeClip(t *testing.T, path string, n int) {
	t.Helper()
	var buf bytes.Buffer
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for y := range 48 {
			for x := range 64 {
				c := color.RGBA{uint8(i * 20 % 255), 100, 200, 255}
				if x >= i && x < i+10 && y >= i && y < i+10 {
					c = colorWhite
				}
				img.Set(x, y, c)
			}
		}
		if err := jpeg.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVanishedFileIsReopenedWhenItReturns(t *testing.T) {
	dir := t.TempDir()
	clip := filepath.Join(dir, "door.mjpeg")
	writeClip(t, clip, 5)
	c, err := Open(context.Background(), Config{
		Source: clip, Loop: true, FPS: 100,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 64 || f.Height != 48 {
		t.Fatalf("clip frame %dx%d", f.Width, f.Height)
	}
	hidden := clip + ".away"
	if err := os.Rename(clip, hidden); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the camera to notice the file is gone", func() bool { return c.Stats().State == Retrying })
	before := c.Stats()
	if err := os.Rename(hidden, clip); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "frames to flow again", func() bool {
		st := c.Stats()
		return st.State == Streaming && st.Frames > before.Frames
	})
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Reconnects < 1 {
		t.Fatalf("stats %+v: want a reconnect", st)
	}
}

func TestMissingFileKeepsRetrying(t *testing.T) {
	p := filepath.Join(t.TempDir(), "later.mjpeg")
	c, err := Open(context.Background(), Config{Source: p, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "a few attempts", func() bool { return c.Stats().Attempts >= 3 })
	writeClip(t, p, 3)
	f, err := c.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Width != 64 {
		t.Fatalf("frame width %d", f.Width)
	}
}

var colorWhite = color.RGBA{255, 255, 255, 255}

// openFDsTo counts this process's descriptors open on path.
func openFDsTo(t *testing.T, path string) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}

func TestCloseReleasesTheSource(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "held.mjpeg")
	writeClip(t, clip, 5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, stop := range []string{"Close", "context"} {
		c, err := Open(ctx, Config{Source: clip, Loop: true, FPS: 50, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Next(context.Background()); err != nil {
			t.Fatal(err)
		}
		if openFDsTo(t, clip) == 0 {
			t.Fatalf("%s: the clip is not open while streaming", stop)
		}
		if stop == "Close" {
			c.Close()
		} else {
			cancel()
			<-c.Done()
		}
		if n := openFDsTo(t, clip); n != 0 {
			t.Fatalf("%s: %d descriptors still open on the clip", stop, n)
		}
		c.Close()
	}
}
