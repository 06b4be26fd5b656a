package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"facegate/pipeline/frame"
)

func TestHubFansOutAndDropsForSlowSubscribers(t *testing.T) {
	h := NewHub[int](nil)
	fast := h.Subscribe("fast", 101)
	slow := h.Subscribe("slow", 2)
	for i := range 100 {
		h.Publish(i)
	}
	if slow.Drops() != 98 || fast.Drops() != 0 {
		t.Errorf("drops: slow %d (want 98), fast %d", slow.Drops(), fast.Drops())
	}
	if got := <-slow.C; got != 0 {
		t.Errorf("slow got %d first, want 0 (it keeps what fitted)", got)
	}
	slow.Close()
	slow.Close() // idempotent
	left := 0
	for range slow.C { // ends only if Close closed the channel
		left++
	}
	if left != 1 {
		t.Errorf("%d messages left in the closed subscription, want 1", left)
	}
	if h.Subscribers() != 1 {
		t.Errorf("%d subscribers after close, want 1", h.Subscribers())
	}
	if n := h.Publish(100); n != 1 {
		t.Errorf("delivered to %d, want 1", n)
	}
	h.Close()
	h.Close()
	n := 0
	for range fast.C {
		n++
	}
	if n != 101 {
		t.Errorf("fast got %d, want 101", n)
	}
	if h.Publish(1) != 0 {
		t.Error("publish after close delivered")
	}
	late := h.Subscribe("late", 1)
	if _, ok := <-late.C; ok {
		t.Error("subscription to a closed hub is open")
	}
}

func TestHubPublishAllocatesNothing(t *testing.T) {
	h := NewHub[Result](nil)
	s := h.Subscribe("slow", 1)
	defer s.Close()
	var r Result
	if a := testing.AllocsPerRun(1000, func() { h.Publish(r) }); a != 0 {
		t.Errorf("%v allocations per publish", a)
	}
}

// A subscriber that never reads must not slow or stop the pipeline: every
// frame is processed and its results are dropped for it alone.
func TestSlowSubscriberDoesNotStallPipeline(t *testing.T) {
	const n = 300
	results := NewHub[Result](nil)
	stuck := results.Subscribe("stuck", 1)
	var fastGot atomic.Int64
	fast := results.Subscribe("fast", 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range fast.C {
			fastGot.Add(1)
		}
	}()
	var clock atomic.Uint64
	sc := during(0, 1<<62, sceneFace{boxA, unitVec(newRand())})
	r, err := NewRunner(Config{
		Open:     func(context.Context) (Source, error) { return newFakeSource(&clock, n, io.EOF), nil },
		Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc}, Matcher: newFakeGallery(),
		Results: results, Tuning: Tuning{ExitOnEOF: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	results.Close()
	<-done
	if st := r.Stats(); st.Frames != n {
		t.Fatalf("processed %d frames, want %d", st.Frames, n)
	}
	if stuck.Drops() != n-1 {
		t.Errorf("stuck subscriber dropped %d, want %d", stuck.Drops(), n-1)
	}
	if got := fastGot.Load() + int64(fast.Drops()); got != n {
		t.Errorf("fast subscriber got+dropped %d, want %d", got, n)
	}
}

func TestEventJSON(t *testing.T) {
	tm := time.Date(2026, 11, 25, 21, 0, 0, 0, time.UTC)
	known := Event{Type: EventRecognized, ID: "x", Time: tm, Camera: "door", Track: 7, PersonID: "p1", Name: "김민수",
		Similarity: 0.75, Box: frame.Box{X: 1, Y: 2, W: 3, H: 4}, Thumb: []byte{1, 2}}
	b, err := json.Marshal(known)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"recognized","id":"x","time":"2026-11-25T21:00:00Z","camera":"door","track":7,"person_id":"p1","name":"김민수","similarity":0.75,"box":[1,2,3,4]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	unknown := Event{Type: EventUnknown, Time: tm, Camera: "door", Track: 8}
	b, _ = json.Marshal(unknown)
	if !strings.Contains(string(b), `"person_id":null,"name":null`) {
		t.Errorf("unknown event: %s", b)
	}
	var res Result
	res.Camera, res.Seq, res.W, res.H, res.N = "door", 3, 640, 480, 1
	res.Faces[0] = FaceResult{Box: frame.Box{X: 1, Y: 2, W: 3, H: 4}, Track: 2}
	b, _ = json.Marshal(res)
	var back struct {
		Type  string            `json:"type"`
		Faces []json.RawMessage `json:"faces"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Type != "frame" || len(back.Faces) != 1 ||
		!strings.Contains(string(back.Faces[0]), `"name":null`) {
		t.Errorf("result JSON %s", b)
	}
}

func TestHistogramPercentiles(t *testing.T) {
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	s := h.stats()
	if s.Count != 1000 || s.Max != time.Millisecond {
		t.Fatalf("%+v", s)
	}
	for _, c := range []struct {
		got, want time.Duration
	}{{s.P50, 500 * time.Microsecond}, {s.P90, 900 * time.Microsecond}, {s.P99, 990 * time.Microsecond}, {s.Mean, 500 * time.Microsecond}} {
		if c.got < c.want*8/10 || c.got > c.want*13/10 {
			t.Errorf("percentile %v, want about %v", c.got, c.want)
		}
	}
	for _, d := range []time.Duration{0, 500 * time.Nanosecond, time.Microsecond, 3 * time.Microsecond, time.Hour * 1000} {
		i := bucketOf(d)
		if i < 0 || i >= len(h.counts) {
			t.Errorf("bucket %d for %v", i, d)
		}
		if d >= time.Microsecond && d < time.Hour && bucketUpper(i) < d {
			t.Errorf("bucket %d upper %v below %v", i, bucketUpper(i), d)
		}
	}
	for s := range NumStages {
		if s.String() == "unknown" {
			t.Errorf("stage %d unnamed", s)
		}
	}
}

// countHandler counts log records.
type countHandler struct{ n atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h *countHandler) Handle(context.Context, slog.Record) error { h.n.Add(1); return nil }
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h *countHandler) WithGroup(string) slog.Handler             { return h }

func TestHubLogsDropsRarely(t *testing.T) {
	var h countHandler
	hub := NewHub[int](slog.New(&h))
	s := hub.Subscribe("stuck", 1)
	defer s.Close()
	for i := range 10000 {
		hub.Publish(i)
	}
	// Rate-limited to one record a second: 9,999 drops in a tight loop
	// give a handful of records at most, not thousands.
	if n := h.n.Load(); n < 1 || n > 100 || s.Drops() != 9999 {
		t.Errorf("%d log records for %d drops", n, s.Drops())
	}
}
