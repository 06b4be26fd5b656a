package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"gocv.io/x/gocv"

	"facegate/device/camera"
	"facegate/internal/testenv"
)

// asHelper makes the test binary run as the real capture helper, so the
// daemon's Camera can be tested against it end to end.
const asHelper = "FACEGATE_CAPTURE_AS_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(asHelper) == "1" {
		os.Exit(run(context.Background(), os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.DiscardHandler)

// writeClip writes an MJPG AVI of n 64x48 frames with OpenCV's writer: a
// container the daemon does not read itself.
func writeClip(t *testing.T, path string, n int) {
	t.Helper()
	w, err := gocv.VideoWriterFile(path, "MJPG", 15, 64, 48, true)
	if err != nil {
		t.Skipf("no MJPG writer in this OpenCV: %v", err)
	}
	m := gocv.NewMatWithSize(48, 64, gocv.MatTypeCV8UC3)
	defer m.Close()
	for i := range n {
		m.SetTo(gocv.NewScalar(float64(i*20%255), 100, 200, 0))
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// frames parses the helper's output: the sizes of the frames it sent.
func frames(t *testing.T, out []byte) []image.Point {
	t.Helper()
	var sizes []image.Point
	for len(out) > 0 {
		if len(out) < 16 || string(out[:4]) != "FGF1" {
			t.Fatalf("bad frame header %q", out[:min(len(out), 16)])
		}
		w, h := int(binary.LittleEndian.Uint32(out[4:])), int(binary.LittleEndian.Uint32(out[8:]))
		if len(out) < 16+3*w*h {
			t.Fatalf("frame %dx%d cut short", w, h)
		}
		sizes = append(sizes, image.Pt(w, h))
		out = out[16+3*w*h:]
	}
	return sizes
}

func TestRunServesAVideo(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "door.avi")
	writeClip(t, clip, 5)
	for _, tc := range []struct {
		req  string
		size image.Point
	}{
		{`{"source":"` + clip + `"}`, image.Pt(64, 48)},
		{`{"source":"` + clip + `","width":32,"height":24}`, image.Pt(32, 24)},
	} {
		var out, errw bytes.Buffer
		if code := run(context.Background(), strings.NewReader(tc.req), &out, &errw); code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.req, code, errw.String())
		}
		got := frames(t, out.Bytes())
		if len(got) != 5 {
			t.Fatalf("%s: %d frames, want 5", tc.req, len(got))
		}
		for _, s := range got {
			if s != tc.size {
				t.Fatalf("%s: frame %v, want %v", tc.req, s, tc.size)
			}
		}
	}
}

func TestRunRefusesWithAReason(t *testing.T) {
	for _, tc := range []struct{ req, want string }{
		{`not json`, "bad request"},
		{`{"source":"x.avi","colour":1}`, "unknown field"},
		{`{"source":""}`, "empty source"},
		{`{"source":"/does/not/exist.avi"}`, "no such file"},
		{`{"source":"x.avi","width":-3,"height":2}`, "out of range"},
	} {
		var out, errw bytes.Buffer
		code := run(context.Background(), strings.NewReader(tc.req), &out, &errw)
		if code != exitOpen || !strings.Contains(errw.String(), tc.want) || out.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q, %d bytes out; want exit %d saying %q", tc.req, code, errw.String(), out.Len(), exitOpen, tc.want)
		}
	}
}

// helperCamera opens source in a Camera whose helper is this test binary.
func helperCamera(t *testing.T, cfg camera.Config) *camera.Camera {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(asHelper, "1")
	cfg.Helper, cfg.Logger = exe, quiet
	c, err := camera.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCameraReadsThroughTheHelper(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "door.avi")
	writeClip(t, clip, 5)
	c := helperCamera(t, camera.Config{Source: clip, Unpaced: true})
	n := 0
	for {
		f, err := c.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d frames: %v", n, err)
		}
		if f.Width != 64 || f.Height != 48 || len(f.Pix) != 64*48*3 {
			t.Fatalf("frame %dx%d", f.Width, f.Height)
		}
		n++
	}
	if n != 5 {
		t.Fatalf("%d frames, want 5", n)
	}
}

func TestHelperSourceVanishesAndReturns(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "door.avi")
	writeClip(t, clip, 5)
	c := helperCamera(t, camera.Config{Source: clip, Loop: true, FPS: 100,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	hidden := clip + ".away"
	if err := os.Rename(clip, hidden); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the camera to notice the file is gone", func() bool { return c.Stats().State == camera.Retrying })
	if st := c.Stats(); !strings.Contains(st.LastError, "no such file") {
		t.Fatalf("last error %q, want the helper's reason", st.LastError)
	}
	before := c.Stats()
	if err := os.Rename(hidden, clip); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "frames to flow again", func() bool {
		st := c.Stats()
		return st.State == camera.Streaming && st.Frames > before.Frames
	})
	c.Close()
	if kids := testenv.Children(t); len(kids) != 0 {
		t.Fatalf("helper processes left after Close: %v", kids)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
