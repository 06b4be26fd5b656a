package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupStartsStopsAndCloses(t *testing.T) {
	a := unitVec(newRand())
	sc := during(0, 1<<62, sceneFace{boxA, a})
	var sources [2]*fakeSource
	ready := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	cfg := func(i int, name string) Config {
		var clock atomic.Uint64
		readyCh := ready[i]
		return Config{
			Camera: name,
			Open: func(context.Context) (Source, error) {
				s := newFakeSource(&clock, -1, nil)
				s.onNext = func(seq uint64) {
					if seq == 20 {
						close(readyCh)
					}
				}
				sources[i] = s
				return s, nil
			},
			Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc}, Matcher: newFakeGallery(),
			Tuning: Tuning{Refresh: time.Nanosecond},
		}
	}
	g := NewGroup()
	var doneCalls atomic.Int32
	done := func(error) { doneCalls.Add(1) }
	if _, err := g.Start(context.Background(), cfg(0, "door"), done); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Start(context.Background(), cfg(1, "garden"), done); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Start(context.Background(), Config{Camera: "door"}, nil); err == nil {
		t.Error("a runner without parts was accepted")
	}
	dup := cfg(1, "door")
	if _, err := g.Start(context.Background(), dup, nil); !errors.Is(err, ErrCameraExists) {
		t.Errorf("duplicate camera: %v", err)
	}
	if _, err := g.Start(context.Background(), cfg(1, " "), nil); err == nil {
		t.Error("unnamed camera accepted")
	}
	<-ready[0]
	if rs := g.Runners(); len(rs) != 2 || rs[0].Camera() != "door" || rs[1].Camera() != "garden" {
		t.Fatalf("runners %v", rs)
	}
	if s, err := g.TrackSamples("door", 1); err != nil || len(s) == 0 {
		t.Errorf("door track 1: %d samples, %v", len(s), err)
	}
	if _, err := g.TrackSamples("attic", 1); !errors.Is(err, ErrNoCamera) {
		t.Errorf("unknown camera: %v", err)
	}
	if res := g.Runners()[0].Latest(); res.Camera != "door" || res.N != 1 || res.Faces[0].Track != 1 {
		t.Errorf("latest %+v", res)
	}
	if err := g.Stop("door"); err != nil {
		t.Fatal(err)
	}
	if sources[0].closed.Load() != 1 {
		t.Error("stopped runner left its source open")
	}
	if _, ok := g.Runner("door"); ok {
		t.Error("stopped runner still listed")
	}
	if err := g.Stop("door"); !errors.Is(err, ErrNoCamera) {
		t.Errorf("second stop: %v", err)
	}
	<-ready[1]
	g.Close()
	g.Close()
	if sources[1].closed.Load() != 1 || doneCalls.Load() != 2 {
		t.Errorf("after Close: garden source closed %d times, %d done calls", sources[1].closed.Load(), doneCalls.Load())
	}
	if _, err := g.Start(context.Background(), cfg(0, "door"), nil); err == nil {
		t.Error("start after close accepted")
	}
}
