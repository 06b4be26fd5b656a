package camera

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"facegate/pipeline/frame"
)

// quiet is a logger that discards, for tests that don't look at logs.
var quiet = slog.New(slog.DiscardHandler)

// fakeCapture produces tiny frames until it has made limit of them
// (0: forever), then fails with err.
type fakeCapture struct {
	made, limit int
	err         error
	closed      *atomic.Int32
}

func (f *fakeCapture) read(dst *frame.Frame) error {
	if f.limit > 0 && f.made >= f.limit {
		return f.err
	}
	f.made++
	if cap(dst.Pix) < 12 {
		dst.Pix = make([]byte, 12)
	}
	dst.Pix = dst.Pix[:12]
	dst.Pix[0] = byte(f.made)
	dst.Width, dst.Height, dst.Stride, dst.Format = 2, 2, 6, frame.BGR
	return nil
}

func (f *fakeCapture) fps() float64 { return 0 }
func (f *fakeCapture) close()       { f.closed.Add(1) }

// countingLog counts log records, to check "once per state change".
type countingLog struct {
	mu   sync.Mutex
	msgs []string
}

func (c *countingLog) Enabled(context.Context, slog.Level) bool { return true }
func (c *countingLog) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, r.Message)
	c.mu.Unlock()
	return nil
}
func (c *countingLog) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countingLog) WithGroup(string) slog.Handler      { return c }
func (c *countingLog) count(msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or a generous deadline passes; it is a
// condition wait, not a speed assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNeverOpensIsRetriedWithoutSpinning(t *testing.T) {
	var calls atomic.Int64
	op := func(context.Context, spec, Config) (capture, error) {
		calls.Add(1)
		return nil, errors.New("no such device")
	}
	logs := &countingLog{}
	minB := 5 * time.Millisecond
	c, err := openWith(context.Background(), Config{
		Source: "/dev/video9", MinBackoff: minB, MaxBackoff: 40 * time.Millisecond, Logger: slog.New(logs),
	}, op)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const window = 400 * time.Millisecond
	start := time.Now()
	time.Sleep(window)
	elapsed := time.Since(start)
	n := calls.Load()
	// Each attempt is followed by a wait of at least MinBackoff, so more
	// than elapsed/MinBackoff+1 attempts would mean the loop spins.
	if limit := int64(elapsed/minB) + 1; n > limit {
		t.Fatalf("%d open attempts in %v: spinning (limit %d)", n, elapsed, limit)
	}
	if n < 2 {
		t.Fatalf("%d open attempts in %v: not retried", n, elapsed)
	}
	st := c.Stats()
	if st.State != Retrying || st.Attempts != uint64(n) && st.Attempts != uint64(n)+1 || st.LastError != "no such device" {
		t.Fatalf("stats %+v after %d attempts", st, n)
	}
	if got := logs.count("camera unavailable, retrying with backoff"); got != 1 {
		t.Fatalf("logged the failure %d times, want once per state change", got)
	}
}

func TestReconnectsAfterStreamFailure(t *testing.T) {
	var opens, closes atomic.Int32
	op := func(context.Context, spec, Config) (capture, error) {
		opens.Add(1)
		// Every capture dies after 3 frames, like a flaky USB camera.
		return &fakeCapture{limit: 3, err: errors.New("read: no such device"), closed: &closes}, nil
	}
	c, err := openWith(context.Background(), Config{Source: "0", MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Logger: quiet}, op)
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for got := 0; got < 10; got++ {
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq <= last {
			t.Fatalf("frame seq %d after %d", f.Seq, last)
		}
		last = f.Seq
	}
	st := c.Stats()
	if st.Reconnects < 3 {
		t.Fatalf("stats %+v: want at least 3 reconnects for 10 frames of 3-frame streams", st)
	}
	c.Close()
	if o, cl := opens.Load(), closes.Load(); o != cl {
		t.Fatalf("%d opens but %d closes: a capture leaked", o, cl)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestSlowConsumerDropsFramesAndGetsTheNewest(t *testing.T) {
	var closes atomic.Int32
	op := func(context.Context, spec, Config) (capture, error) { return &fakeCapture{closed: &closes}, nil }
	c, err := openWith(context.Background(), Config{Source: "0", Logger: quiet}, op)
	if err != nil {
		t.Fatal(err)
	}
	taken := uint64(0)
	for range 5 {
		waitFor(t, "frames to pile up", func() bool { return c.Stats().Frames > taken+50 })
		f, err := c.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		taken++
		if f.Width != 2 || f.Format != frame.BGR || len(f.Pix) != 12 {
			t.Fatalf("frame %+v", f)
		}
	}
	c.Close()
	st := c.Stats()
	// Every captured frame was taken, dropped, or is the one left in the slot.
	if d := st.Frames - st.Drops - taken; d > 1 {
		t.Fatalf("stats %+v, taken %d: %d frames unaccounted for", st, taken, d)
	}
	if st.Drops == 0 {
		t.Fatalf("a slow consumer caused no drops: %+v", st)
	}
}

func TestContextCancelStopsCapture(t *testing.T) {
	var closes atomic.Int32
	op := func(context.Context, spec, Config) (capture, error) { return &fakeCapture{closed: &closes}, nil }
	ctx, cancel := context.WithCancel(context.Background())
	c, err := openWith(ctx, Config{Source: "0", Logger: quiet}, op)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-c.Done()
	if closes.Load() != 1 {
		t.Fatalf("capture closed %d times, want 1", closes.Load())
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after cancel: %v", err)
	}
	c.Close()
}

func TestNextHonoursItsContext(t *testing.T) {
	op := func(context.Context, spec, Config) (capture, error) { return nil, errors.New("absent") }
	c, err := openWith(context.Background(), Config{Source: "0", Logger: quiet}, op)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, want deadline exceeded", err)
	}
}

func TestFileEndsWithEOFAfterLastFrame(t *testing.T) {
	var closes atomic.Int32
	op := func(context.Context, spec, Config) (capture, error) {
		return &fakeCapture{limit: 4, err: io.EOF, closed: &closes}, nil
	}
	c, err := openWith(context.Background(), Config{Source: "clip.avi", Unpaced: true, Logger: quiet}, op)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := 0
	for {
		_, err := c.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if st := c.Stats(); n != 4 || st.Drops != 0 || st.State != Ended {
		t.Fatalf("took %d frames, stats %+v; want all 4, no drops, ended", n, st)
	}
}

func TestMailboxReusesBuffers(t *testing.T) {
	m := newMailbox()
	allocs := testing.AllocsPerRun(100, func() {
		f := m.writable()
		m.put(f)
		f = m.writable()
		m.put(f) // overwrites
		if m.take() == nil {
			panic("no frame")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per cycle, want 0", allocs)
	}
	seen := map[*frame.Frame]bool{}
	for range 10 {
		f := m.writable()
		seen[f] = true
		m.put(f)
		m.take()
	}
	if len(seen) > 3 {
		t.Fatalf("%d distinct buffers, want at most 3", len(seen))
	}
}
