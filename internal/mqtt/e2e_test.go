package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"facegate/pipeline"
	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// clipSource plays the JPEG frames of an MJPEG clip once (every third
// frame: the clip moves slowly), then empty grey frames forever, on a
// synthetic clock, so presence expires by frame time and not by waiting.
type clipSource struct {
	frames [][]byte // RGB 640×480
	i      int
	t0     time.Time
	t      time.Time
	f      frame.Frame
	blank  []byte
	loop   bool // play the clip forever (no empty doorway)
}

const clipStep = 3 * time.Second / 45 // three frames of a 15 fps clip

func newClipSource(t *testing.T, rel string) *clipSource {
	t.Helper()
	data, err := os.ReadFile(testdata(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	s := &clipSource{t0: time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)}
	for i, j := range splitJPEGs(data) {
		if i%3 != 0 {
			continue
		}
		img, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		s.frames = append(s.frames, rgb(img))
	}
	if len(s.frames) == 0 {
		t.Fatalf("%s: no frames", rel)
	}
	s.blank = bytes.Repeat([]byte{0x70}, 640*480*3)
	s.t = s.t0
	return s
}

// splitJPEGs cuts concatenated JPEG files at each start-of-image marker.
func splitJPEGs(data []byte) [][]byte {
	soi := []byte{0xff, 0xd8, 0xff}
	var out [][]byte
	for bytes.HasPrefix(data, soi) {
		next := bytes.Index(data[3:], soi)
		if next < 0 {
			return append(out, data)
		}
		out = append(out, data[:next+3])
		data = data[next+3:]
	}
	return out
}

// rgb packs an image as RGB (through draw's fast YCbCr path).
func rgb(img image.Image) []byte {
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	pix := make([]byte, 0, 3*b.Dx()*b.Dy())
	for i := 0; i < len(rgba.Pix); i += 4 {
		pix = append(pix, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
	}
	return pix
}

func (s *clipSource) Name() string { return "door" }
func (s *clipSource) Close() error { return nil }

func (s *clipSource) Next(ctx context.Context) (*frame.Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pix := s.blank
	step := clipStep
	if s.loop {
		s.i %= len(s.frames)
		select { // a camera's pace, not a busy loop
		case <-time.After(30 * time.Millisecond):
		case <-ctx.Done():
			return nil, io.EOF
		}
	}
	if s.i < len(s.frames) {
		pix = s.frames[s.i]
	} else {
		step = time.Second // the empty doorway: time passes quickly
		select {           // and the CPU is spared
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return nil, io.EOF
		}
	}
	s.i++
	s.t = s.t.Add(step)
	s.f = frame.Frame{Pix: pix, Width: 640, Height: 480, Stride: 640 * 3, Format: frame.RGB, Seq: uint64(s.i), Time: s.t}
	return &s.f, nil
}

// TestVideoToPresence is the whole path: a person registered over MQTT from
// a photo is recognized in a video played through the real pipeline; the
// recognized event (with the registered Korean name) arrives on
// <base>/event, the person turns home, and away once the doorway has been
// empty for the presence timeout.
func TestVideoToPresence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the models on a video")
	}
	br := startBroker(t)
	svc, _ := realGallery(t)
	w := newWatcher(t, br.url())
	b := startBridge(t, br.url(), &ServiceGallery{Service: svc})
	w.waitOnline()

	// Enrolled from a different still than the one the clip was made from.
	r := w.request(w.responses, w.base, "register", "enroll", map[string]any{"name": "김민수", "image": photo(t, "faces/Mark_Zuckerberg/2.jpg")})
	if r.Status != "ok" {
		t.Fatalf("register: %s", deref(r.Error))
	}
	var p personJSON
	if err := json.Unmarshal(r.Data, &p); err != nil {
		t.Fatal(err)
	}
	presence := w.sub(w.base + "/person/" + p.ID)
	snaps := w.sub(w.base + "/snapshot")

	models, err := pipeline.NewModels(pipeline.ModelOptions{})
	if err != nil {
		t.Skipf("models: %v", err)
	}
	defer models.Close()
	stop := play(t, b, svc, models, newClipSource(t, "video/mark_zuckerberg_640x480_15fps_5s.mjpeg"))

	var ev map[string]any
	waitFor(t, w.events, "recognized event", func(m paho.Message) bool {
		ev = nil
		_ = json.Unmarshal(m.Payload(), &ev)
		if ev["type"] == "unknown" {
			t.Errorf("unknown event for the enrolled person: %s", m.Payload())
		}
		return ev["type"] == "recognized"
	})
	if ev["name"] != "김민수" || ev["person_id"] != p.ID || ev["camera"] != "door" || ev["snapshot"] != w.base+"/snapshot" {
		t.Fatalf("recognized event %v", ev)
	}
	if m := waitFor(t, snaps, "snapshot", nil); len(m.Payload()) < 1000 {
		t.Fatalf("snapshot of %d bytes", len(m.Payload()))
	}
	state := func(want string) func(paho.Message) bool {
		return func(m paho.Message) bool {
			var pj map[string]any
			return json.Unmarshal(m.Payload(), &pj) == nil && pj["state"] == want && pj["name"] == "김민수"
		}
	}
	waitFor(t, presence, "home", state("home"))
	waitFor(t, presence, "away after the presence timeout", state("away"))
	stop()

	// Deleted by MQTT, the person is no longer recognized.
	if r := w.request(w.responses, w.base, "delete", "forget", map[string]any{"person_id": p.ID}); r.Status != "ok" {
		t.Fatalf("delete: %s", deref(r.Error))
	}
	stop = play(t, b, svc, models, newClipSource(t, "video/mark_zuckerberg_640x480_15fps_5s.mjpeg"))
	defer stop()
	waitFor(t, w.events, "unknown event after the deletion", func(m paho.Message) bool {
		ev = nil
		_ = json.Unmarshal(m.Payload(), &ev)
		if ev["type"] == "recognized" {
			t.Fatalf("deleted person recognized: %s", m.Payload())
		}
		return ev["type"] == "unknown"
	})
	if v, ok := ev["name"]; !ok || v != nil {
		t.Fatalf("unknown event names someone: %v", ev)
	}
}

// play runs the real pipeline on src, its events going to the bridge, until
// the returned stop is called.
func play(t *testing.T, b *Bridge, svc *gallery.Service, models *pipeline.Models, src *clipSource) (stop func()) {
	t.Helper()
	const timeout = 3 * time.Second
	hub := pipeline.NewHub[pipeline.Event](nil)
	runner, err := pipeline.NewRunner(pipeline.Config{
		Camera:   "door",
		Open:     func(context.Context) (pipeline.Source, error) { return src, nil },
		Detector: models,
		Embedder: models,
		Matcher:  pipeline.GalleryMatcher{M: svc.Matcher()},
		Quality:  models.Quality,
		Events:   hub,
		Presence: pipeline.NewPresence(timeout),
		Tuning:   pipeline.Tuning{PresenceTimeout: timeout},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	sub := hub.Subscribe("mqtt", 64)
	go func() { defer wg.Done(); b.FollowEvents(ctx, sub.C) }()
	go func() { defer wg.Done(); _ = runner.Run(ctx) }()
	var once sync.Once
	return func() { once.Do(func() { cancel(); wg.Wait(); hub.Close() }) }
}

// TestCameraRequests: with the pipeline running on a looping clip of a
// stranger, "ignore" marks the unknown face as not a person, and "register
// from:camera" enrolls the face in view; an unknown camera is a clear error.
func TestCameraRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the models on a video")
	}
	br := startBroker(t)
	svc, st := realGallery(t)
	models, err := pipeline.NewModels(pipeline.ModelOptions{})
	if err != nil {
		t.Skipf("models: %v", err)
	}
	defer models.Close()
	src := newClipSource(t, "video/scarlett_johansson_640x480_15fps_5s.mjpeg")
	src.loop = true
	hub := pipeline.NewHub[pipeline.Event](nil)
	runner, err := pipeline.NewRunner(pipeline.Config{
		Camera: "door", Open: func(context.Context) (pipeline.Source, error) { return src, nil },
		Detector: models, Embedder: models, Matcher: pipeline.GalleryMatcher{M: svc.Matcher()},
		Quality: models.Quality, Events: hub,
	})
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(camera string) (*pipeline.Runner, bool) { return runner, camera == "" || camera == "door" }
	w := newWatcher(t, br.url())
	g := &ServiceGallery{Service: svc, FromCamera: CameraEnroller(svc, lookup), Runner: lookup}
	b := startBridge(t, br.url(), g)
	w.waitOnline()
	if r := w.request(w.responses, w.base, "ignore", "early", nil); r.Status != "error" || !strings.Contains(deref(r.Error), "no unknown face seen yet") {
		t.Fatalf("ignore before any unknown face: %s %s", r.Status, deref(r.Error))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	sub := hub.Subscribe("mqtt", 64)
	go func() { defer wg.Done(); b.FollowEvents(ctx, sub.C) }()
	go func() { defer wg.Done(); _ = runner.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	waitFor(t, w.events, "unknown event", func(m paho.Message) bool { return strings.Contains(string(m.Payload()), `"type":"unknown"`) })
	if r := w.request(w.responses, w.base, "ignore", "ign", nil); r.Status != "ok" {
		t.Fatalf("ignore: %s", deref(r.Error))
	}
	st.mu.Lock()
	ignored := len(st.ignored)
	st.mu.Unlock()
	if ignored != 1 {
		t.Fatalf("%d ignored faces stored", ignored)
	}

	if r := w.request(w.responses, w.base, "register", "nocam", map[string]any{"name": "스칼렛", "from": "camera", "camera": "garage"}); r.Status != "error" || !strings.Contains(deref(r.Error), `no camera named "garage"`) {
		t.Fatalf("unknown camera: %s %s", r.Status, deref(r.Error))
	}
	r := w.request(w.responses, w.base, "register", "cam", map[string]any{"name": "스칼렛", "from": "camera", "camera": "door", "timeout": 30})
	if r.Status != "ok" {
		t.Fatalf("register from camera: %s", deref(r.Error))
	}
	var p personJSON
	if err := json.Unmarshal(r.Data, &p); err != nil || p.Name != "스칼렛" || p.Samples < 1 {
		t.Fatalf("registered %s (%v)", r.Data, err)
	}
	if people := svc.People(); len(people) != 1 || people[0].ID != p.ID {
		t.Fatalf("gallery %+v", people)
	}
}
