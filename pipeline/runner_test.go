package pipeline

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"facegate/pipeline/frame"
)

var boxA = frame.Box{X: 10, Y: 8, W: 24, H: 24}
var boxB = frame.Box{X: 36, Y: 10, W: 20, H: 22}

// played is the outcome of running a scene to its end.
type played struct {
	events  []Event
	results []Result
	runner  *Runner
}

// play runs a finite scene of n frames through a runner and collects
// everything it published.
func play(t *testing.T, sc scene, m Matcher, n int, tune Tuning) played {
	t.Helper()
	tune.ExitOnEOF = true
	events, results := NewHub[Event](nil), NewHub[Result](nil)
	evSub := events.Subscribe("test", n+16)
	resSub := results.Subscribe("test", n+16)
	var clock atomic.Uint64
	r, err := NewRunner(Config{
		Camera:   "door",
		Open:     func(context.Context) (Source, error) { return newFakeSource(&clock, n, io.EOF), nil },
		Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc, noise: 0.3},
		Matcher: m, Events: events, Results: results, Presence: NewPresence(tune.PresenceTimeout),
		Tuning: tune,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	events.Close()
	results.Close()
	var p played
	p.runner = r
	for e := range evSub.C {
		p.events = append(p.events, e)
	}
	for res := range resSub.C {
		p.results = append(p.results, res)
	}
	if len(p.results) != n {
		t.Fatalf("got %d results for %d frames", len(p.results), n)
	}
	return p
}

// during returns a scene showing face in frames [from, to].
func during(from, to uint64, faces ...sceneFace) scene {
	return func(seq uint64) []sceneFace {
		if seq >= from && seq <= to {
			return faces
		}
		return nil
	}
}

func TestKnownPersonRecognizedOnce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := newFakeGallery()
	a := unitVec(r)
	g.put("p1", "김민수", a)
	g.put("p2", "Other", unitVec(r))
	// Visible for 4 s, gone for 3 s (> LeaveAfter), back for 2 s: the
	// second track is within the presence timeout, so no second event.
	sc := func(seq uint64) []sceneFace {
		if seq <= 60 || (seq > 105 && seq <= 135) {
			return []sceneFace{{boxA, a}}
		}
		return nil
	}
	p := play(t, sc, g, 140, Tuning{})
	evs := p.events
	if n := count(evs, EventRecognized); n != 1 {
		t.Fatalf("recognized events: %d, want 1: %+v", n, evs)
	}
	if n := count(evs, EventUnknown); n != 0 {
		t.Errorf("unknown events: %d, want 0", n)
	}
	for _, e := range evs {
		if e.Type == EventRecognized && (e.Name != "김민수" || e.PersonID != "p1" || e.Camera != "door" || len(e.Thumb) == 0) {
			t.Errorf("bad recognized event %+v", e)
		}
		// Latency in frames, not in time: the event comes with the second
		// frame of the face (two agreeing votes), one frame interval after
		// the face appeared.
		if e.Type == EventRecognized && !e.Time.Equal(seqTime(2)) {
			t.Errorf("recognized at %v, want the second frame (%v)", e.Time, seqTime(2))
		}
	}
	if n := count(evs, EventLeft); n != 1 {
		t.Errorf("left events: %d, want 1 (the first track; the second was not announced)", n)
	}
	if n := count(evs, EventPresence); n != 1 {
		t.Errorf("presence events: %d, want 1 (home)", n)
	}
	// Results name the face once decided and never name anyone else.
	named := 0
	for _, res := range p.results {
		for _, f := range res.List() {
			if f.Known {
				named++
				if f.Name != "김민수" {
					t.Fatalf("frame %d named %q", res.Seq, f.Name)
				}
			}
		}
	}
	if named < 80 {
		t.Errorf("only %d of 90 face results named", named)
	}
	st := p.runner.Stats()
	if st.Frames != 140 || st.Embeds == 0 || st.Embeds >= 90 {
		t.Errorf("stats %+v: want 140 frames and embeddings for fewer than the 90 faces", st)
	}
}

func TestRecognizedAgainAfterAway(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	g := newFakeGallery()
	a := unitVec(r)
	g.put("p1", "Ann", a)
	// Presence timeout 3 s; away for 5 s between two visits.
	sc := func(seq uint64) []sceneFace {
		if seq <= 30 || (seq > 105 && seq <= 135) {
			return []sceneFace{{boxA, a}}
		}
		return nil
	}
	p := play(t, sc, g, 140, Tuning{PresenceTimeout: 3 * time.Second})
	if n := count(p.events, EventRecognized); n != 2 {
		t.Errorf("recognized: %d, want 2", n)
	}
	var states []string
	for _, e := range p.events {
		if e.Type == EventPresence {
			states = append(states, e.State)
		}
	}
	if len(states) != 3 || states[0] != StateHome || states[1] != StateAway || states[2] != StateHome {
		t.Errorf("presence states %v, want [home away home]", states)
	}
}

func TestStrangerIsUnknown(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	g := newFakeGallery()
	g.put("p1", "Ann", unitVec(r))
	stranger := unitVec(r)
	p := play(t, during(1, 75, sceneFace{boxA, stranger}), g, 75, Tuning{})
	if n := count(p.events, EventUnknown); n != 1 {
		t.Errorf("unknown events: %d, want 1", n)
	}
	if n := count(p.events, EventRecognized); n != 0 {
		t.Errorf("recognized events: %d, want 0", n)
	}
	for _, e := range p.events {
		if e.Name != "" || e.PersonID != "" {
			t.Errorf("stranger named in %+v", e)
		}
		if e.Type == EventUnknown && len(e.Thumb) == 0 {
			t.Error("unknown event without thumbnail")
		}
	}
	for _, res := range p.results {
		for _, f := range res.List() {
			if f.Known || f.Name != "" {
				t.Fatalf("frame %d names the stranger %q", res.Seq, f.Name)
			}
		}
	}
}

func TestNameDoesNotFlicker(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	g := newFakeGallery()
	a, b := unitVec(r), unitVec(r)
	g.put("a", "Ann", a)
	g.put("b", "Bob", b)
	// Every fourth frame the embedder sees Bob in Ann's face; the refresh is
	// one frame so every frame votes.
	sc := func(seq uint64) []sceneFace {
		if seq%4 == 0 {
			return []sceneFace{{boxA, b}}
		}
		return []sceneFace{{boxA, a}}
	}
	p := play(t, sc, g, 80, Tuning{Refresh: time.Nanosecond})
	if n := count(p.events, EventRecognized); n != 1 {
		t.Errorf("recognized: %d, want 1", n)
	}
	for _, res := range p.results[4:] {
		for _, f := range res.List() {
			if f.Name != "Ann" {
				t.Fatalf("frame %d: name %q, want Ann throughout", res.Seq, f.Name)
			}
		}
	}
}

func TestTwoFacesTwoTracks(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	g := newFakeGallery()
	a, b := unitVec(r), unitVec(r)
	g.put("a", "Ann", a)
	p := play(t, during(1, 40, sceneFace{boxA, a}, sceneFace{boxB, b}), g, 40, Tuning{})
	if count(p.events, EventRecognized) != 1 || count(p.events, EventUnknown) != 1 {
		t.Fatalf("events %+v: want one recognized and one unknown", p.events)
	}
	tracks := map[int]bool{}
	for _, res := range p.results {
		for _, f := range res.List() {
			tracks[f.Track] = true
			if f.Known != (f.Box == boxA) && res.Seq > 5 {
				t.Fatalf("frame %d: face at %v known=%v", res.Seq, f.Box, f.Known)
			}
		}
	}
	if len(tracks) != 2 {
		t.Errorf("%d track ids, want 2", len(tracks))
	}
}

// deletion runs a video of Ann and deletes her at frame 40; after that
// frame no result may name her once a refresh interval has passed.
func deletion(t *testing.T, m func(*fakeGallery) Matcher, grace uint64) {
	r := rand.New(rand.NewPCG(11, 12))
	g := newFakeGallery()
	a := unitVec(r)
	g.put("a", "Ann", a)
	const delAt = 40
	sc := func(seq uint64) []sceneFace {
		if seq == delAt {
			g.del("a") // the deletion lands while frame 40 is being detected
		}
		return []sceneFace{{boxA, a}}
	}
	refresh := 10 * frameStep
	p := play(t, sc, m(g), 100, Tuning{Refresh: refresh})
	sawBefore := false
	for _, res := range p.results {
		for _, f := range res.List() {
			if res.Seq < delAt && f.Known {
				sawBefore = true
			}
			if res.Seq >= delAt+grace && f.Known {
				t.Fatalf("frame %d still names %q after the deletion at frame %d", res.Seq, f.Name, delAt)
			}
		}
	}
	if !sawBefore {
		t.Fatal("Ann was never named before the deletion")
	}
	if n := count(p.events, EventUnknown); n != 0 {
		t.Errorf("unknown events %d: a track once named is not reported unknown", n)
	}
}

func TestDeletedPersonForgottenAtOnce(t *testing.T) {
	deletion(t, func(g *fakeGallery) Matcher { return g }, 0)
}

func TestDeletedPersonForgottenWithinRefresh(t *testing.T) {
	deletion(t, func(g *fakeGallery) Matcher { return noGeneration{g} }, 10+1)
}

func TestGalleryChurnWhileRunning(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	g := newFakeGallery()
	a := unitVec(r)
	g.put("a", "Ann", a)
	others := make([][]float32, 8)
	for i := range others {
		others[i] = unitVec(r)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // enroll and delete continuously while the video runs
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			id := string(rune('A' + i%8))
			if i%3 == 2 {
				g.del("a")
				g.put("a", "Ann", a)
			}
			g.put(id, "person "+id, others[i%8])
			g.del(id)
		}
	}()
	events, results := NewHub[Event](nil), NewHub[Result](nil)
	resSub := results.Subscribe("test", 4)
	var clock atomic.Uint64
	rn, err := NewRunner(Config{
		Open: func(context.Context) (Source, error) {
			s := newFakeSource(&clock, -1, nil)
			s.onNext = func(seq uint64) {
				if seq == 300 {
					cancel()
				}
			}
			return s, nil
		},
		Detector: &fakeDetector{during(0, 1<<62, sceneFace{boxA, a}, sceneFace{boxB, others[0]})},
		Embedder: &fakeEmbedder{scene: during(0, 1<<62, sceneFace{boxA, a}, sceneFace{boxB, others[0]}), noise: 0.3},
		Matcher:  g, Events: events, Results: results,
		Tuning: Tuning{Refresh: time.Nanosecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for res := range resSub.C {
			for _, f := range res.List() {
				if _, ok := g.seen.Load(f.PersonID); f.Known && !ok {
					t.Errorf("named %q, who never existed", f.PersonID)
				}
			}
		}
	}()
	if err := rn.Run(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	events.Close()
	results.Close()
	<-readerDone
	if st := rn.Stats(); st.Frames < 300 {
		t.Errorf("processed %d frames, want 300", st.Frames)
	}
}

func TestTrackSamples(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	g := newFakeGallery()
	a := unitVec(r)
	sc := during(1, 1<<62, sceneFace{boxA, a})
	var clock atomic.Uint64
	rn, err := NewRunner(Config{
		Open:     func(context.Context) (Source, error) { return newFakeSource(&clock, 30, io.EOF), nil },
		Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc, noise: 0.3}, Matcher: g,
		Quality: func(f *frame.Frame, _ frame.Face, _ []byte) (float32, error) {
			if f.Seq%2 == 0 {
				return 0, errors.New("too blurred")
			}
			return float32(f.Seq), nil
		},
		Tuning: Tuning{Refresh: time.Nanosecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rn.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	_ = rn.Run(ctx)
	if _, err := rn.TrackSamples(99); !errors.Is(err, ErrNoTrack) {
		t.Errorf("track 99: %v, want ErrNoTrack", err)
	}
	s, err := rn.TrackSamples(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != maxSamples {
		t.Fatalf("%d samples, want %d", len(s), maxSamples)
	}
	for i, x := range s {
		if int(x.Quality)%2 == 0 {
			t.Errorf("sample %d has quality %v from a refused frame", i, x.Quality)
		}
		if i > 0 && x.Quality > s[i-1].Quality {
			t.Errorf("samples not best first: %v after %v", x.Quality, s[i-1].Quality)
		}
		if len(x.Embedding.Vector) != frame.EmbeddingDim || x.Embedding.Model != fakeModel ||
			len(x.Aligned) != AlignedSize*AlignedSize*3 || x.Aligned[0] != byte(x.Quality) {
			t.Errorf("sample %d malformed", i)
		}
	}
}

func TestNewRunnerRefusesMissingParts(t *testing.T) {
	sc := during(0, 0)
	open := func(context.Context) (Source, error) { return nil, io.EOF }
	full := Config{Open: open, Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc}, Matcher: newFakeGallery()}
	for name, mut := range map[string]func(*Config){
		"open": func(c *Config) { c.Open = nil }, "detector": func(c *Config) { c.Detector = nil },
		"embedder": func(c *Config) { c.Embedder = nil }, "matcher": func(c *Config) { c.Matcher = nil },
	} {
		c := full
		mut(&c)
		if _, err := NewRunner(c); err == nil {
			t.Errorf("no %s: accepted", name)
		}
	}
	if _, err := NewRunner(full); err != nil {
		t.Errorf("full config: %v", err)
	}
}

func TestDecide(t *testing.T) {
	A := vote{personID: "a", name: "A", sim: 0.8, known: true}
	B := vote{personID: "b", name: "B", sim: 0.7, known: true}
	U := vote{sim: 0.2}
	for _, c := range []struct {
		name  string
		votes []vote
		want  string // person id, "?" unknown, "" undecided
	}{
		{"empty", nil, ""},
		{"one known", []vote{A}, ""},
		{"two known", []vote{A, A}, "a"},
		{"split", []vote{A, B}, ""},
		{"majority", []vote{A, B, A, U, A}, "a"},
		{"unknown majority", []vote{A, U, U, A, U}, "?"},
		{"two unknown", []vote{U, U}, ""},
		{"three unknown", []vote{U, U, U}, "?"},
	} {
		v, ok := decide(c.votes, 2, 5)
		got := ""
		if ok {
			got = "?"
			if v.known {
				got = v.personID
			}
		}
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestStrangerReportedOncePerVisit(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	g := newFakeGallery()
	g.put("p1", "Ann", unitVec(r))
	s1, s2 := unitVec(r), unitVec(r)
	// s1 comes, goes for 3 s (its track ends), comes back; then s2 comes.
	sc := func(seq uint64) []sceneFace {
		switch {
		case seq <= 30, seq > 75 && seq <= 105:
			return []sceneFace{{boxA, s1}}
		case seq > 150 && seq <= 180:
			return []sceneFace{{boxA, s2}}
		}
		return nil
	}
	p := play(t, sc, g, 190, Tuning{})
	if n := count(p.events, EventUnknown); n != 2 {
		t.Errorf("%d unknown events, want 2 (s1 once, s2 once): %+v", n, p.events)
	}
	if n := count(p.events, EventLeft); n != 2 {
		t.Errorf("%d left events, want 2 (for the reported tracks)", n)
	}
	// With a presence timeout shorter than the absence, s1 is new again.
	p = play(t, sc, g, 190, Tuning{PresenceTimeout: 2 * time.Second})
	if n := count(p.events, EventUnknown); n != 3 {
		t.Errorf("%d unknown events with a 2 s presence timeout, want 3", n)
	}
}
