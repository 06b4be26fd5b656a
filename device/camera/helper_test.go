package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"facegate/internal/testenv"
	"facegate/pipeline/frame"
)

// fakeHelperEnv makes the test binary act as the capture helper, in the
// mode the variable names, so the daemon's side of the protocol is tested
// without OpenCV (cmd/facegate-capture tests the real helper).
const fakeHelperEnv = "FACEGATE_FAKE_HELPER"

// fakeHelper serves one request the way mode says and returns the exit
// code: "frames:N" sends N 8x6 frames whose first byte counts them and
// ends cleanly; "refuse" cannot open the source; "die:N" dies in the
// middle of frame N+1; "garbage" breaks the protocol; "silent" sends
// nothing until killed; "echo" sends one frame whose pixels are the
// request it got.
func fakeHelper(mode string) int {
	req, src, err := ReadHelperRequest(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	out := os.Stdout
	send := func(i int) {
		f := frame.Frame{Width: 8, Height: 6, Stride: 24, Format: frame.BGR, Pix: make([]byte, 8*6*3)}
		f.Pix[0] = byte(i)
		if err := WriteFrame(out, &f, 12.5); err != nil {
			os.Exit(3)
		}
	}
	name, arg, _ := strings.Cut(mode, ":")
	n, _ := strconv.Atoi(arg)
	switch name {
	case "frames":
		for i := 1; i <= n; i++ {
			send(i)
		}
		return 0
	case "refuse":
		fmt.Fprintln(os.Stderr, "some library warning")
		fmt.Fprintf(os.Stderr, "open %s %s: OpenCV could not open it\n", src.Kind, Redact(src.Target))
		return 2
	case "die":
		for i := 1; i <= n; i++ {
			send(i)
		}
		out.Write([]byte(wireMagic + "\x08\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00partial"))
		fmt.Fprintln(os.Stderr, "read stream: decoder crashed")
		return 1
	case "garbage":
		out.Write([]byte("this is not a frame header at all"))
		time.Sleep(time.Minute) // the daemon must kill it
		return 0
	case "silent":
		time.Sleep(time.Minute)
		return 0
	case "echo":
		line := fmt.Sprintf("%s|%d|%d|%g", req.Source, req.Width, req.Height, req.FPS)
		f := frame.Frame{Width: len(line), Height: 1, Stride: 3 * len(line), Format: frame.BGR, Pix: make([]byte, 3*len(line))}
		copy(f.Pix, line)
		_ = WriteFrame(out, &f, 0)
		return 0
	}
	return 9
}

// helperConfig is a Config whose helper is this test binary in mode.
func helperConfig(t *testing.T, mode, source string) Config {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeHelperEnv, mode)
	return Config{Source: source, Helper: exe, Unpaced: true, Logger: quiet,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
}

func TestHelperStreamsFramesToTheEnd(t *testing.T) {
	cfg := helperConfig(t, "frames:7", "clip.avi")
	c, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 7; i++ {
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Width != 8 || f.Height != 6 || f.Pix[0] != byte(i) {
			t.Fatalf("frame %d: %dx%d first byte %d", i, f.Width, f.Height, f.Pix[0])
		}
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want EOF", err)
	}
	if st := c.Stats(); st.Frames != 7 || st.Kind != File || st.Reconnects != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestHelperGetsTheRequestOnStdin(t *testing.T) {
	src := "rtsp://door:s3cret@192.0.2.7/stream"
	cfg := helperConfig(t, "echo", src)
	cfg.Width, cfg.Height, cfg.FPS = 320, 240, 10
	s, _ := parseSource(src)
	hc, err := openHelper(context.Background(), s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer hc.close()
	var f frame.Frame
	if err := hc.read(&f); err != nil {
		t.Fatal(err)
	}
	if got, want := string(bytes.TrimRight(f.Pix, "\x00")), src+"|320|240|10"; got != want {
		t.Fatalf("helper got %q, want %q", got, want)
	}
}

func TestHelperErrorsAreItsOwnWords(t *testing.T) {
	for _, tc := range []struct {
		mode, want string
	}{
		{"refuse", "OpenCV could not open it"},
		{"garbage", "malformed frame stream"},
		{"frames:0", "delivered no frame"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			src := "rtsp://door:s3cret@192.0.2.7/stream"
			cfg := helperConfig(t, tc.mode, src)
			s, _ := parseSource(src)
			start := time.Now()
			_, err := openHelper(context.Background(), s, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error shows the stream's password: %v", err)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Fatalf("took %v: the broken helper was not killed", d)
			}
		})
	}
}

func TestHelperDyingMidStreamIsRetried(t *testing.T) {
	cfg := helperConfig(t, "die:3", "rtsp://192.0.2.7/stream")
	c, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "a reconnect after the helper died", func() bool { return c.Stats().Reconnects >= 1 })
	if st := c.Stats(); !strings.Contains(st.LastError, "decoder crashed") {
		t.Fatalf("last error %q, want the helper's own words", st.LastError)
	}
}

func TestHelperIsKilledOnClose(t *testing.T) {
	// The first helper sends a frame and ends; the one the camera then
	// starts hangs without a frame. Close must not wait for it, and must
	// leave no process behind.
	cfg := helperConfig(t, "frames:1", "gst:videotestsrc")
	cfg.Unpaced = false
	c, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeHelperEnv, "silent")
	waitFor(t, "the silent helper to run", func() bool {
		return c.Stats().Attempts >= 2 && len(testenv.Children(t)) == 1
	})
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	waitFor(t, "no helper left", func() bool { return len(testenv.Children(t)) == 0 })
}

func TestMissingHelperIsAClearError(t *testing.T) {
	s, _ := parseSource("rtsp://192.0.2.7/stream")
	_, err := openHelper(context.Background(), s, Config{Source: "rtsp://192.0.2.7/stream", Helper: filepath.Join(t.TempDir(), HelperName)})
	if err == nil || !strings.Contains(err.Error(), HelperName) {
		t.Fatalf("err %v, want it to name %s", err, HelperName)
	}
}

func FuzzWireReader(f *testing.F) {
	var ok bytes.Buffer
	fr := frame.Frame{Width: 2, Height: 2, Stride: 6, Format: frame.BGR, Pix: make([]byte, 12)}
	_ = WriteFrame(&ok, &fr, 30)
	f.Add(ok.Bytes())
	f.Add(ok.Bytes()[:20])
	f.Add([]byte(wireMagic + "\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		wr := wireReader{r: bufioReader(b)}
		var dst frame.Frame
		for range 4 {
			rate, err := wr.readFrame(&dst)
			if err != nil {
				return
			}
			if dst.Width < 1 || dst.Height < 1 || dst.Width > maxSide || dst.Height > maxSide || len(dst.Pix) != 3*dst.Width*dst.Height || rate < 0 {
				t.Fatalf("accepted frame %dx%d with %d bytes, rate %g", dst.Width, dst.Height, len(dst.Pix), rate)
			}
		}
	})
}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// BenchmarkWirePipe measures handing a 640x480 frame from the helper to
// the daemon through a pipe, as the helper does (write, then read into a
// reused frame).
func BenchmarkWirePipe(b *testing.B) {
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	src := frame.Frame{Width: 640, Height: 480, Stride: 1920, Format: frame.BGR, Pix: make([]byte, 640*480*3)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer w.Close()
		for range b.N + 1 {
			if WriteFrame(w, &src, 30) != nil {
				return
			}
		}
	}()
	wr := wireReader{r: bufioReader(nil)}
	wr.r.Reset(r)
	var dst frame.Frame
	if _, err := wr.readFrame(&dst); err != nil { // size the buffer
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src.Pix)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := wr.readFrame(&dst); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	<-done
}
