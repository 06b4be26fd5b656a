package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"facegate/internal/testenv"
)

// watchTestdata returns ../shared/testdata (or $FACEGATE_TESTDATA).
func watchTestdata(t *testing.T) string {
	return filepath.Dir(filepath.Dir(testenv.Testdata(t, "video", "MANIFEST.tsv")))
}

func watchRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), stdio{strings.NewReader(""), &out, &errb}, args)
	return code, out.String(), errb.String()
}

type watchLine struct {
	Type       string     `json:"type"`
	Camera     string     `json:"camera"`
	Track      int        `json:"track"`
	PersonID   *string    `json:"person_id"`
	Name       *string    `json:"name"`
	Similarity float32    `json:"similarity"`
	Box        [4]float32 `json:"box"`
	Faces      []struct {
		Name  *string `json:"name"`
		Known bool    `json:"known"`
	} `json:"faces"`
}

func parseWatch(t *testing.T, out string) []watchLine {
	t.Helper()
	var lines []watchLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var w watchLine
		if err := json.Unmarshal([]byte(l), &w); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		lines = append(lines, w)
	}
	return lines
}

// End to end: enroll from a still with the CLI, then watch a video made
// from another still of the same person through the camera (gocv).
func TestWatchNamesEnrolledPerson(t *testing.T) {
	if testing.Short() {
		t.Skip("real models and video: skipped in -short mode")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // camera and printer goroutines end with watch
	td := watchTestdata(t)
	dir := t.TempDir()
	if code, _, errs := watchRun(t, "enroll", "--state-dir", dir, "--name", "김민수",
		filepath.Join(td, "faces", "Mark_Zuckerberg", "2.jpg")); code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, errs)
	}
	if code, _, errs := watchRun(t, "enroll", "--state-dir", dir, "--name", "Katy",
		filepath.Join(td, "faces", "Katy_Perry", "1.jpg")); code != 0 {
		t.Fatalf("enroll: exit %d: %s", code, errs)
	}
	code, out, errs := watchRun(t, "watch", "--state-dir", dir, "--frames",
		filepath.Join(td, "video", "mark_zuckerberg_640x480_15fps_5s.mjpeg"))
	if code != 0 {
		t.Fatalf("watch: exit %d: %s", code, errs)
	}
	var recognized, unknown, frames, named int
	for _, l := range parseWatch(t, out) {
		switch l.Type {
		case "recognized":
			recognized++
			if l.Name == nil || *l.Name != "김민수" || l.PersonID == nil || l.Box[2] <= 0 {
				t.Errorf("recognized line %+v", l)
			}
		case "unknown":
			unknown++
		case "frame":
			frames++
			for _, f := range l.Faces {
				if f.Known {
					named++
					if *f.Name != "김민수" {
						t.Errorf("frame names %q", *f.Name)
					}
				}
			}
		}
	}
	if recognized != 1 || unknown != 0 {
		t.Errorf("%d recognized and %d unknown events, want 1 and 0:\n%s", recognized, unknown, out)
	}
	if frames == 0 || named < frames/2 {
		t.Errorf("%d frame lines, %d named faces", frames, named)
	}
}

func TestWatchStrangerIsUnknown(t *testing.T) {
	if testing.Short() {
		t.Skip("real models and video: skipped in -short mode")
	}
	td := watchTestdata(t)
	dir := t.TempDir() // nobody enrolled
	code, out, errs := watchRun(t, "watch", "--state-dir", dir,
		filepath.Join(td, "video", "scarlett_johansson_640x480_15fps_5s.mjpeg"))
	if code != 0 {
		t.Fatalf("watch: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "nobody enrolled") {
		t.Errorf("no hint about the empty gallery: %q", errs)
	}
	lines := parseWatch(t, out)
	unknown := 0
	for _, l := range lines {
		if l.Name != nil {
			t.Errorf("stranger named: %+v", l)
		}
		if l.Type == "unknown" {
			unknown++
		}
	}
	if unknown != 1 {
		t.Errorf("%d unknown events, want 1:\n%s", unknown, out)
	}
}

func TestWatchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"watch"},
		{"watch", "a", "b"},
		{"watch", "--nope", "x"},
		{"bench"},
		{"bench", "--source", "x", "--seconds", "0"},
	} {
		if code, _, _ := watchRun(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	code, _, errs := watchRun(t, "watch", "--model", "huge", "--state-dir", t.TempDir(), "x.mjpeg")
	if code != 1 || !strings.Contains(errs, "short or full") {
		t.Errorf("bad model: exit %d %q", code, errs)
	}
}

func TestWatchMissingFileFailsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the models: skipped in -short mode")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	code, out, errs := watchRun(t, "watch", "--state-dir", t.TempDir(), filepath.Join(t.TempDir(), "no-such-clip.mjpeg"))
	if code != 1 || out != "" || !strings.Contains(errs, "no-such-clip.mjpeg") {
		t.Errorf("missing file: exit %d, out %q, err %q", code, out, errs)
	}
	if err := checkFileSource("/dev/video0"); err != nil {
		t.Errorf("device refused: %v", err)
	}
	for _, src := range []string{"0", "rtsp://cam/stream", "gst:videotestsrc ! appsink"} {
		if err := checkFileSource(src); err != nil {
			t.Errorf("%s refused: %v", src, err)
		}
	}
}

func TestBenchReports(t *testing.T) {
	if testing.Short() {
		t.Skip("real models and video: skipped in -short mode")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	td := watchTestdata(t)
	code, out, errs := watchRun(t, "bench", "--json", "--seconds", "1", "--state-dir", t.TempDir(),
		"--source", filepath.Join(td, "video", "mark_zuckerberg_640x480_15fps_5s.mjpeg"))
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errs)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if rep.Frames == 0 || rep.FPS <= 0 || rep.Faces == 0 || rep.Stages["detect"].Count == 0 {
		t.Errorf("report %+v", rep)
	}
}
