package pipeline

import (
	"context"
	"testing"

	"facegate/pipeline/frame"
)

// steadyRunner returns a runner that has already seen a scene of two
// faces (one known) for a while, and the frame to feed it.
func steadyRunner(tb testing.TB) (*Runner, *frame.Frame) {
	r := newRand()
	a, b := unitVec(r), unitVec(r)
	g := newFakeGallery()
	g.put("a", "Ann", a)
	sc := during(0, 1<<62, sceneFace{boxA, a}, sceneFace{boxB, b})
	results := NewHub[Result](nil)
	rn, err := NewRunner(Config{
		Camera:   "door",
		Open:     func(context.Context) (Source, error) { return nil, context.Canceled },
		Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc, noise: 0.3}, Matcher: g,
		Results: results, Events: NewHub[Event](nil), Presence: NewPresence(0),
	})
	if err != nil {
		tb.Fatal(err)
	}
	f := &frame.Frame{Pix: make([]byte, 64*48*3), Width: 64, Height: 48, Stride: 64 * 3}
	for range 60 {
		step(rn, f)
	}
	return rn, f
}

// step feeds f as the next frame on the synthetic clock.
func step(rn *Runner, f *frame.Frame) {
	f.Seq++
	f.Time = seqTime(f.Seq)
	rn.process(f, f.Time)
}

func TestSteadyFrameAllocatesNothing(t *testing.T) {
	rn, f := steadyRunner(t)
	// 100 frames span several refresh intervals, so re-embedding, matching
	// and sample keeping are inside the measurement.
	if a := testing.AllocsPerRun(100, func() { step(rn, f) }); a != 0 {
		t.Errorf("%v allocations per frame in steady state", a)
	}
	if st := rn.Stats(); st.Tracks != 2 || st.Embeds < 8 {
		t.Errorf("stats %+v: want 2 tracks and refresh embeddings", st)
	}
}

// BenchmarkRunnerFrame measures the pipeline's own overhead per frame
// (tracking, voting, events, results) with instant fake models.
func BenchmarkRunnerFrame(b *testing.B) {
	rn, f := steadyRunner(b)
	b.ReportAllocs()
	for b.Loop() {
		step(rn, f)
	}
}
