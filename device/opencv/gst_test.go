package opencv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"facegate/device/camera"
	"facegate/pipeline/frame"
)

// gstPlugin skips the test unless GStreamer's base plugins (videotestsrc,
// videoconvert, app) are installed where OpenCV's GStreamer back-end finds
// them.
func gstPlugin(t *testing.T) {
	t.Helper()
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu/gstreamer-1.0", "/usr/lib/aarch64-linux-gnu/gstreamer-1.0"} {
		if _, err := os.Stat(filepath.Join(dir, "libgstvideotestsrc.so")); err == nil {
			return
		}
	}
	t.Skip("GStreamer base plugins (videotestsrc) not installed: apt-get install gstreamer1.0-plugins-base")
}

// gstSource is a synthetic camera: I420 test frames, so the appended
// videoconvert really converts (through ORC-generated code).
const gstSource = "gst:videotestsrc pattern=ball ! video/x-raw,format=I420,width=160,height=120,framerate=30/1"

// readGst opens gstSource and checks a few frames.
func readGst(t *testing.T) {
	s, err := camera.ParseSource(gstSource)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != camera.GStreamer {
		t.Fatalf("kind %v", s.Kind)
	}
	c, err := Open(s, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var f frame.Frame
	for i := range 5 {
		if err := c.Read(&f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Width != 160 || f.Height != 120 || len(f.Pix) != 160*120*3 {
			t.Fatalf("frame %d: %dx%d", i, f.Width, f.Height)
		}
	}
}

func TestGStreamerPipeline(t *testing.T) {
	gstPlugin(t)
	readGst(t)
}

// The unit sets MemoryDenyWriteExecute=yes. Check that the GStreamer path
// (the one most likely to want executable memory: ORC) still works when the
// kernel refuses writable+executable mappings, as systemd arranges.
func TestGStreamerUnderMemoryDenyWriteExecute(t *testing.T) {
	gstPlugin(t)
	if os.Getenv("FACEGATE_MDWE_CHILD") == "1" {
		// PR_SET_MDWE (Linux 6.3+): the same protection systemd applies
		// through seccomp for MemoryDenyWriteExecute=yes.
		if err := unix.Prctl(unix.PR_SET_MDWE, unix.PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0); err != nil {
			t.Skipf("PR_SET_MDWE not supported by this kernel: %v", err)
		}
		readGst(t)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestGStreamerUnderMemoryDenyWriteExecute$", "-test.v")
	cmd.Env = append(os.Environ(), "FACEGATE_MDWE_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GStreamer capture under MDWE failed: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}
