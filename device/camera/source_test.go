package camera

import (
	"strings"
	"testing"
	"time"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		in     string
		kind   Kind
		index  int
		target string
	}{
		{"0", Device, 0, "0"},
		{" 2 ", Device, 2, "2"},
		{"/dev/video1", Device, -1, "/dev/video1"},
		{"gst:libcamerasrc ! video/x-raw,width=640,height=480", GStreamer, -1,
			"libcamerasrc ! video/x-raw,width=640,height=480" + appsinkTail},
		{"gst:nvarguscamerasrc ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! appsink", GStreamer, -1,
			"nvarguscamerasrc ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR ! appsink"},
		{"rtsp://cam.local:554/stream1", Stream, -1, "rtsp://cam.local:554/stream1"},
		{"http://10.0.0.2/mjpg", Stream, -1, "http://10.0.0.2/mjpg"},
		{"HTTPS://cam/video", Stream, -1, "HTTPS://cam/video"},
		{"clip.mp4", File, -1, "clip.mp4"},
		{"/srv/door.mjpeg", File, -1, "/srv/door.mjpeg"},
		{"photo.JPG", Image, -1, "photo.JPG"},
		{"still.png", Image, -1, "still.png"},
	}
	for _, tt := range tests {
		sp, err := parseSource(tt.in)
		if err != nil {
			t.Errorf("parseSource(%q): %v", tt.in, err)
			continue
		}
		if sp.kind != tt.kind || sp.index != tt.index || sp.target != tt.target {
			t.Errorf("parseSource(%q) = {%v %d %q}, want {%v %d %q}", tt.in, sp.kind, sp.index, sp.target, tt.kind, tt.index, tt.target)
		}
	}
}

func TestParseSourceRejects(t *testing.T) {
	for _, in := range []string{"", "   ", "-1", "gst:", "gst:   ", "ftp://host/x", "rtsp:///nohost", "file://x"} {
		if _, err := parseSource(in); err == nil {
			t.Errorf("parseSource(%q) accepted", in)
		}
	}
}

func TestRedactHidesPassword(t *testing.T) {
	got := Redact("rtsp://admin:s3cret@cam.local/live")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "admin") || !strings.Contains(got, "cam.local/live") {
		t.Errorf("redact = %q", got)
	}
	if got := Redact("/dev/video0"); got != "/dev/video0" {
		t.Errorf("redact changed a path: %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{},
		{Source: "0", Width: 640},
		{Source: "0", Width: -1, Height: 480},
		{Source: "0", Width: 100000, Height: 480},
		{Source: "0", FPS: -5},
		{Source: "0", FPS: 1000},
		{Source: "/dev/video0", Loop: true},
		{Source: "rtsp://cam/x", Loop: true},
	}
	for _, c := range bad {
		if _, err := c.validate(); err == nil {
			t.Errorf("validate(%+v) accepted", c)
		}
	}
	good := []Config{
		{Source: "0"},
		{Source: "/dev/video0", Width: 640, Height: 480, FPS: 15},
		{Source: "clip.avi", Loop: true},
	}
	for _, c := range good {
		if _, err := c.validate(); err != nil {
			t.Errorf("validate(%+v): %v", c, err)
		}
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	b := backoff{min: 10 * time.Millisecond, max: 50 * time.Millisecond}
	want := []time.Duration{10, 20, 40, 50, 50}
	for i, w := range want {
		if got := b.next(); got != w*time.Millisecond {
			t.Fatalf("attempt %d: wait %v, want %v", i, got, w*time.Millisecond)
		}
	}
	b.reset()
	if got := b.next(); got != 10*time.Millisecond {
		t.Fatalf("after reset: %v", got)
	}
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"0", "/dev/video0", "gst:videotestsrc", "rtsp://u:p@h/x", "a.mp4", "b.png", "%zz://", "http://[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := parseSource(s)
		if err != nil {
			return
		}
		if sp.target == "" {
			t.Fatalf("parseSource(%q) accepted with an empty target", s)
		}
		if sp.kind == GStreamer && !strings.Contains(sp.target, "appsink") {
			t.Fatalf("pipeline without appsink: %q", sp.target)
		}
		_ = Redact(s)
	})
}
