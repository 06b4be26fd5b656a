package pipeline

import (
	"context"
	"image"
	_ "image/jpeg"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"facegate/pipeline/gallery"
)

// realModels loads the shipped models once per test binary.
var realModels = sync.OnceValues(func() (*Models, error) { return NewModels(ModelOptions{}) })

func models(t testing.TB) *Models {
	t.Helper()
	if testing.Short() {
		t.Skip("real models: skipped in -short mode")
	}
	m, err := realModels()
	if err != nil {
		t.Fatalf("loading models: %v", err)
	}
	return m
}

// enrolled builds a gallery snapshot with one sample per person, each from
// faces/<Person>/<still>.jpg (not the still a video was made from).
func enrolled(t testing.TB, m *Models, people map[string]string) *gallery.Snapshot {
	t.Helper()
	var d gallery.Data
	for person, still := range people {
		path := filepath.Join(testdata(t), "faces", person, still)
		fh, err := os.Open(path)
		if err != nil {
			t.Skipf("photo absent: %v", err)
		}
		img, _, err := image.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		faces, err := m.Det.DetectImage(img)
		if err != nil || len(faces) == 0 {
			t.Fatalf("%s: no face (%v)", path, err)
		}
		best := faces[0]
		for _, f := range faces[1:] {
			if f.Box.Area() > best.Box.Area() {
				best = f
			}
		}
		e, _, err := m.Emb.EmbedImage(img, best, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		d.People = append(d.People, gallery.Person{ID: person, Name: person})
		d.Samples = append(d.Samples, gallery.Sample{ID: person + "/" + still, PersonID: person, Embedding: e})
	}
	return gallery.Build(d, m.Model(), gallery.DefaultPolicy())
}

// watchVideo plays an MJPEG clip once through a runner with the real
// models and gallery; onFrame may change the gallery as frames go by.
func watchVideo(t *testing.T, m *Models, gm *gallery.Matcher, clip string, onFrame func(seq uint64)) played {
	t.Helper()
	return watchVideoWith(t, m, gm, clip, onFrame, nil)
}

// watchVideoWith is watchVideo that also publishes its runner.
func watchVideoWith(t *testing.T, m *Models, gm *gallery.Matcher, clip string, onFrame func(seq uint64), runner *atomic.Pointer[Runner]) played {
	t.Helper()
	n := clipLen(t, clip)
	events, results := NewHub[Event](nil), NewHub[Result](nil)
	evSub := events.Subscribe("test", 64)
	resSub := results.Subscribe("test", n+1)
	var clock atomic.Uint64
	r, err := NewRunner(Config{
		Camera: "door",
		Open: func(context.Context) (Source, error) {
			return openClip(t, clip, &clock, onFrame), nil
		},
		Detector: m, Embedder: m, Quality: m.Quality, Matcher: GalleryMatcher{gm},
		Events: events, Results: results,
		Tuning: Tuning{ExitOnEOF: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if runner != nil {
		runner.Store(r)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	events.Close()
	results.Close()
	p := played{runner: r}
	for e := range evSub.C {
		p.events = append(p.events, e)
	}
	for res := range resSub.C {
		p.results = append(p.results, res)
	}
	st := r.Stats()
	t.Logf("%s: %d frames, %d faces, %d embeddings; events %d", clip, st.Frames, st.Faces, st.Embeds, len(p.events))
	if st.Frames != uint64(n) {
		t.Fatalf("processed %d of %d frames", st.Frames, n)
	}
	return p
}

var dev = map[string]string{
	"Mark_Zuckerberg":    "2.jpg", // the clip is made from 1.jpg
	"Scarlett_Johansson": "1.jpg", // the clip is made from 3.jpg
	"Jack_Dorsey":        "1.jpg",
	"Elon_Musk":          "1.jpg",
	"Katy_Perry":         "1.jpg",
	"Sundar_Pichai":      "1.jpg",
}

func without(m map[string]string, who string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k != who {
			out[k] = v
		}
	}
	return out
}

func TestVideoOfEnrolledPerson(t *testing.T) {
	m := models(t)
	gm := gallery.NewMatcher(enrolled(t, m, dev))
	for clip, person := range map[string]string{
		"mark_zuckerberg_640x480_15fps_5s.mjpeg":    "Mark_Zuckerberg",
		"scarlett_johansson_640x480_15fps_5s.mjpeg": "Scarlett_Johansson",
	} {
		t.Run(person, func(t *testing.T) {
			p := watchVideo(t, m, gm, clip, nil)
			if n := count(p.events, EventRecognized); n != 1 {
				t.Fatalf("%d recognized events, want 1: %+v", n, p.events)
			}
			if n := count(p.events, EventUnknown); n != 0 {
				t.Errorf("%d unknown events, want 0", n)
			}
			for _, e := range p.events {
				if e.Type == EventRecognized && (e.Name != person || e.Similarity <= 0 || len(e.Thumb) == 0) {
					t.Errorf("recognized %q (similarity %.2f, thumb %d bytes), want %s", e.Name, e.Similarity, len(e.Thumb), person)
				}
			}
			for _, res := range p.results {
				for _, f := range res.List() {
					if f.Known && f.Name != person {
						t.Fatalf("frame %d names %q", res.Seq, f.Name)
					}
				}
			}
		})
	}
}

func TestVideoOfStranger(t *testing.T) {
	m := models(t)
	for clip, person := range map[string]string{
		"mark_zuckerberg_640x480_15fps_5s.mjpeg":    "Mark_Zuckerberg",
		"scarlett_johansson_640x480_15fps_5s.mjpeg": "Scarlett_Johansson",
	} {
		t.Run(person, func(t *testing.T) {
			gm := gallery.NewMatcher(enrolled(t, m, without(dev, person)))
			p := watchVideo(t, m, gm, clip, nil)
			if n := count(p.events, EventUnknown); n < 1 {
				t.Errorf("no unknown event: %+v", p.events)
			}
			for _, e := range p.events {
				if e.Name != "" {
					t.Errorf("stranger named %q in a %s event", e.Name, e.Type)
				}
			}
			for _, res := range p.results {
				for _, f := range res.List() {
					if f.Known {
						t.Fatalf("frame %d names the stranger %q (similarity %.2f)", res.Seq, f.Name, f.Similarity)
					}
				}
			}
		})
	}
}

// Deleting a person while their video runs, while other enrollments and
// deletions keep landing: the frames after the deletion no longer name them
// (the snapshot's generation makes the runner re-vote at once). Writers are
// serialised, as the gallery service's transactions are. Run under -race.
func TestDeleteWhileVideoRuns(t *testing.T) {
	m := models(t)
	full := enrolled(t, m, dev)
	withoutMark := enrolled(t, m, without(dev, "Mark_Zuckerberg"))
	gm := gallery.NewMatcher(full)
	var mu sync.Mutex // serialises writers
	base := full      // the gallery without the churn; guarded by mu
	churn := map[*gallery.Snapshot]*gallery.Snapshot{
		full:        enrolled(t, m, without(dev, "Katy_Perry")),
		withoutMark: enrolled(t, m, without(without(dev, "Mark_Zuckerberg"), "Katy_Perry")),
	}
	delAt := uint64(clipLen(t, "mark_zuckerberg_640x480_15fps_5s.mjpeg") / 2)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { // delete and re-enroll Katy continuously
		for ctx.Err() == nil {
			mu.Lock()
			gm.Swap(churn[base])
			gm.Swap(base)
			mu.Unlock()
		}
	})
	onFrame := func(seq uint64) {
		if seq == delAt {
			mu.Lock()
			base = withoutMark
			gm.Swap(base)
			mu.Unlock()
		}
	}
	p := watchVideo(t, m, gm, "mark_zuckerberg_640x480_15fps_5s.mjpeg", onFrame)
	cancel()
	wg.Wait()
	t.Logf("gallery swaps: %d; the runner saw generation %d last", gm.Generation(), p.runner.gen)
	named := 0
	for _, res := range p.results {
		for _, f := range res.List() {
			if f.Known && f.Name != "Mark_Zuckerberg" {
				t.Fatalf("frame %d names %q", res.Seq, f.Name)
			}
			if f.Known && res.Seq < delAt {
				named++
			}
			if f.Known && res.Seq >= delAt {
				t.Fatalf("frame %d still names %q after the deletion at frame %d", res.Seq, f.Name, delAt)
			}
		}
	}
	if named == 0 {
		t.Error("Mark was never named before the deletion")
	}
	if n := count(p.events, EventRecognized); n != 1 {
		t.Errorf("%d recognized events, want 1", n)
	}
}
