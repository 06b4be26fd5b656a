package pipeline

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	goleak.VerifyTestMain(m)
}

// sleeps records the backoff delays a runner asked for, without sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestFailingSourceIsReopened(t *testing.T) {
	var clock atomic.Uint64
	var opens atomic.Int32
	var sources []*fakeSource
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := during(0, 0)
	// Open 1 fails; 2 streams 10 frames then errors; 3 streams 10 frames
	// then ends (EOF); 4 fails as a vanished file; 5 streams until the test
	// has seen 40 frames in all.
	open := func(context.Context) (Source, error) {
		switch opens.Add(1) {
		case 1:
			return nil, errors.New("device busy")
		case 2:
			s := newFakeSource(&clock, 10, errors.New("read error"))
			sources = append(sources, s)
			return s, nil
		case 3:
			s := newFakeSource(&clock, 10, io.EOF)
			sources = append(sources, s)
			return s, nil
		case 4:
			return nil, &fs.PathError{Op: "open", Path: "clip.mjpeg", Err: fs.ErrNotExist}
		default:
			s := newFakeSource(&clock, -1, nil)
			s.onNext = func(seq uint64) {
				if seq == 40 {
					cancel()
				}
			}
			sources = append(sources, s)
			return s, nil
		}
	}
	r, err := NewRunner(Config{Open: open, Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc}, Matcher: newFakeGallery()})
	if err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	r.sleep = sl.sleep
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Frames < 39 || st.Opens != 3 || st.Failures != 4 {
		t.Errorf("stats %+v: want ≥ 39 frames after 3 good opens and 4 failures", st)
	}
	for i, s := range sources {
		if s.closed.Load() != 1 {
			t.Errorf("source %d closed %d times, want 1", i, s.closed.Load())
		}
	}
	// Every reopen waited; a stream that had delivered frames resets the
	// backoff to its minimum.
	want := []time.Duration{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	if len(sl.d) != len(want) {
		t.Fatalf("slept %v, want %v", sl.d, want)
	}
	for i := range want {
		if sl.d[i] != want[i] {
			t.Errorf("sleep %d: %v, want %v", i, sl.d[i], want[i])
		}
	}
}

func TestSourceThatNeverOpensBacksOff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var attempts atomic.Int32
	open := func(context.Context) (Source, error) {
		if attempts.Add(1) == 12 {
			cancel()
		}
		return nil, errors.New("no such device")
	}
	sc := during(0, 0)
	r, err := NewRunner(Config{Open: open, Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc}, Matcher: newFakeGallery(),
		Tuning: Tuning{BackoffMin: 10 * time.Millisecond, BackoffMax: 500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	var sl sleeps
	r.sleep = sl.sleep
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// Not spinning: every failed attempt but the cancelled last one waited,
	// and the waits doubled up to the cap.
	if int(attempts.Load()) != 12 || len(sl.d) != 11 {
		t.Fatalf("%d attempts, %d waits: %v", attempts.Load(), len(sl.d), sl.d)
	}
	d := 10 * time.Millisecond
	for i, got := range sl.d {
		if got != d {
			t.Errorf("wait %d: %v, want %v", i, got, d)
		}
		d = min(2*d, 500*time.Millisecond)
	}
	if st := r.Stats(); st.Opens != 0 || st.Failures != 11 {
		t.Errorf("stats %+v", st)
	}
}

func TestRunStopsAndClosesSource(t *testing.T) {
	var clock atomic.Uint64
	src := newFakeSource(&clock, -1, nil)
	ctx, cancel := context.WithCancel(context.Background())
	src.onNext = func(seq uint64) {
		if seq == 5 {
			cancel()
		}
	}
	sc := during(0, 0)
	r, err := NewRunner(Config{Open: func(context.Context) (Source, error) { return src, nil },
		Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc}, Matcher: newFakeGallery()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if src.closed.Load() != 1 {
		t.Errorf("source closed %d times, want 1", src.closed.Load())
	}
}

func TestMailboxKeepsNewestAndCountsDrops(t *testing.T) {
	mb := NewMailbox()
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		f := mb.Buffer(4, 2)
		f.Seq = uint64(i)
		mb.Publish(f, time.Duration(i))
	}
	f, err := mb.Next(ctx)
	if err != nil || f.Seq != 5 {
		t.Fatalf("Next: %v %v, want frame 5", f, err)
	}
	if mb.Drops() != 4 || mb.Published() != 5 || mb.DecodeTime() != 5 {
		t.Errorf("drops %d published %d decode %v", mb.Drops(), mb.Published(), mb.DecodeTime())
	}
	if len(f.Pix) != 4*2*3 || f.Stride != 12 {
		t.Errorf("buffer %dx%d stride %d len %d", f.Width, f.Height, f.Stride, len(f.Pix))
	}
	g := mb.Buffer(4, 2)
	g.Seq = 6
	mb.Publish(g, 0)
	mb.CloseWithError(nil)
	if f, err := mb.Next(ctx); err != nil || f.Seq != 6 {
		t.Fatalf("pending frame after close: %v %v", f, err)
	}
	if _, err := mb.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after close: %v, want EOF", err)
	}
	mb.Publish(mb.Buffer(4, 2), 0) // discarded, no panic
	if _, err := mb.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("publish after close: %v, want EOF", err)
	}
}

func TestMailboxNextHonoursContext(t *testing.T) {
	mb := NewMailbox()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := mb.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestMailboxProducerConsumer(t *testing.T) {
	mb := NewMailbox()
	ctx := context.Background()
	const n = 2000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 1; i <= n; i++ {
			f := mb.Buffer(8, 8)
			f.Seq = uint64(i)
			f.Pix[0] = byte(i)
			mb.Publish(f, 0)
		}
		mb.Close()
	})
	var last uint64
	got := 0
	for {
		f, err := mb.Next(ctx)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq <= last || f.Pix[0] != byte(f.Seq) {
			t.Fatalf("frame %d after %d (pixel %d)", f.Seq, last, f.Pix[0])
		}
		last = f.Seq
		got++
	}
	wg.Wait()
	if last != n || uint64(got)+mb.Drops() != n {
		t.Errorf("last %d, got %d + dropped %d, want %d", last, got, mb.Drops(), n)
	}
}

func TestMailboxAllocatesNothing(t *testing.T) {
	mb := NewMailbox()
	ctx := context.Background()
	cycle := func() {
		mb.Publish(mb.Buffer(64, 48), 0)
		mb.Publish(mb.Buffer(64, 48), 0)
		if _, err := mb.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	if a := testing.AllocsPerRun(100, cycle); a != 0 {
		t.Errorf("%v allocations per frame", a)
	}
}

func TestOpenOnceRunsToTheEnd(t *testing.T) {
	var clock atomic.Uint64
	src := newFakeSource(&clock, 12, io.EOF)
	sc := during(0, 0)
	r, err := NewRunner(Config{Open: OpenOnce(src), Detector: &fakeDetector{sc}, Embedder: &fakeEmbedder{scene: sc},
		Matcher: newFakeGallery(), Tuning: Tuning{ExitOnEOF: true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Frames != 12 || st.Opens != 1 || src.closed.Load() != 1 {
		t.Errorf("stats %+v, closed %d", st, src.closed.Load())
	}
	if _, err := OpenOnce(src)(context.Background()); err != nil {
		t.Errorf("a fresh OpenOnce failed: %v", err)
	}
}

// A source whose clock starts again (a reopened stream with its own time
// base) must not keep old tracks alive: the pipeline's clock never goes
// back, so the old track still leaves.
func TestClockNeverGoesBack(t *testing.T) {
	var clock atomic.Uint64
	opens := 0
	a := unitVec(newRand())
	g := newFakeGallery()
	g.put("a", "Ann", a)
	sc := during(0, 1<<62, sceneFace{boxA, a})
	events := NewHub[Event](nil)
	sub := events.Subscribe("test", 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(context.Context) (Source, error) {
		opens++
		if opens == 2 {
			clock.Store(0) // the second stream restarts its clock at frame 1
		}
		s := newFakeSource(&clock, 30, io.EOF)
		if opens == 2 {
			sc2 := s
			sc2.onNext = func(seq uint64) {
				if seq == 30 {
					cancel()
				}
			}
		}
		return s, nil
	}
	r, err := NewRunner(Config{Open: open, Detector: &fakeDetector{func(seq uint64) []sceneFace {
		if opens == 1 {
			return sc(seq)
		}
		return nil // the face is gone in the second stream
	}}, Embedder: &fakeEmbedder{scene: sc}, Matcher: g, Events: events})
	if err != nil {
		t.Fatal(err)
	}
	r.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	if err := r.Run(ctx); err != nil {
		t.Fatal(err)
	}
	events.Close()
	var types []EventType
	for e := range sub.C {
		types = append(types, e.Type)
	}
	if len(types) != 2 || types[0] != EventRecognized || types[1] != EventLeft {
		t.Errorf("events %v, want [recognized left]", types)
	}
}
