// Package camera turns device cameras, GStreamer pipelines, network streams
// and video or image files into a stream of frames. V4L2 cameras (YUYV,
// MJPEG), Y4M and MJPEG files and photos are read in process, in pure Go;
// everything else goes through the capture helper, a process of its own
// that reads it with OpenCV (see HelperName). Each Camera runs one capture
// goroutine that keeps only the newest frame; a consumer that is slower
// than the camera loses frames, it never queues them. A camera that fails
// or ends is reopened with capped exponential backoff.
//
// Imports: pipeline/frame only (device/* sit beside the pipeline, not under
// it); the pipeline sees a Camera through its own Source interface.
package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"facegate/pipeline/frame"
)

// Config describes one camera. Only Source is required.
type Config struct {
	Name   string  // shown in logs and events; defaults to Source
	Source string  // /dev/videoN, N, gst:<pipeline>, rtsp://…, http(s)://…, or a file
	Width  int     // requested frame size; 0,0: the source's own
	Height int     //
	FPS    float64 // requested rate for cameras, pacing for files and images; 0: the source's own
	Loop   bool    // files and images: start again at the end instead of ending

	// Unpaced reads files as fast as the consumer takes frames, dropping
	// none (benchmarks); by default files are paced like a camera.
	Unpaced bool
	// Helper is the path of the capture helper, for the sources read
	// outside the process; default: facegate-capture next to this
	// program, else on $PATH.
	Helper string
	// MinBackoff and MaxBackoff bound the wait between reopen attempts
	// (defaults 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// Logger receives one line per state change (default slog.Default()).
	Logger *slog.Logger
}

// Defaults for Config's zero values.
const (
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
	defaultFileFPS    = 15 // files whose container has no usable rate (raw MJPEG)
	maxFPS            = 240
	maxSide           = 8192
)

// ErrClosed is returned by Next after Close or after the Open context ended.
var ErrClosed = errors.New("camera: closed")

// State is where a camera's capture loop is.
type State int32

const (
	// Opening: the first open attempt has not finished.
	Opening State = iota
	// Streaming: frames are flowing.
	Streaming
	// Retrying: opening or reading failed; waiting to try again.
	Retrying
	// Ended: a file without Loop reached its end.
	Ended
	// Closed: Close was called or the context ended.
	Closed
)

// String names the state.
func (s State) String() string {
	switch s {
	case Opening:
		return "opening"
	case Streaming:
		return "streaming"
	case Retrying:
		return "retrying"
	case Ended:
		return "ended"
	case Closed:
		return "closed"
	}
	return "unknown"
}

// Stats are a camera's counters since Open.
type Stats struct {
	Frames     uint64 // frames captured
	Drops      uint64 // captured frames overwritten before anyone took them
	Reconnects uint64 // successful opens after a failure
	Attempts   uint64 // open attempts, successful or not
	State      State
	Kind       Kind
	LastError  string // the last open or read error ("" when none)
}

// capture is one opened source; read fills dst or fails (io.EOF at the end).
type capture interface {
	read(dst *frame.Frame) error
	fps() float64 // the source's own rate, 0 when unknown
	close()
}

// opener opens a parsed source; tests substitute fakes. ctx is the
// camera's: a capture waits on it (for a frame, for its helper process)
// so that Close is never stuck behind a silent source.
type opener func(ctx context.Context, s spec, cfg Config) (capture, error)

// Camera is a running source. Its methods are safe for concurrent use, but
// Next has one consumer: the frame it returns stays valid until the next
// call to Next (or Close).
type Camera struct {
	cfg    Config
	spec   spec
	open   opener
	log    *slog.Logger
	mb     *mailbox
	cancel context.CancelFunc
	done   chan struct{} // closed when the capture goroutine has returned
	once   sync.Once

	frames, drops, reconnects, attempts atomic.Uint64
	state                               atomic.Int32
	mu                                  sync.Mutex
	lastErr                             string
	endErr                              error  // io.EOF or ErrClosed, set before done closes
	frameSeq                            uint64 // owned by the capture goroutine
}

// Open validates cfg and starts capturing in a goroutine that lives until
// ctx ends or Close is called. A source that cannot be opened yet is not an
// error: it is retried in the background and reported through Stats.
func Open(ctx context.Context, cfg Config) (*Camera, error) {
	return openWith(ctx, cfg, openSource)
}

func openWith(ctx context.Context, cfg Config, op opener) (*Camera, error) {
	sp, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if cfg.Name == "" {
		cfg.Name = Redact(cfg.Source)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Camera{
		cfg:    cfg,
		spec:   sp,
		open:   op,
		log:    lg.With("component", "camera", "camera", cfg.Name),
		mb:     newMailbox(),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go c.run(ctx)
	return c, nil
}

// validate checks the config and parses its source.
func (cfg Config) validate() (spec, error) {
	sp, err := parseSource(cfg.Source)
	if err != nil {
		return spec{}, err
	}
	switch {
	case cfg.Width < 0 || cfg.Height < 0 || cfg.Width > maxSide || cfg.Height > maxSide:
		return spec{}, fmt.Errorf("camera %s: size %dx%d out of range (0..%d)", cfg.Name, cfg.Width, cfg.Height, maxSide)
	case (cfg.Width == 0) != (cfg.Height == 0):
		return spec{}, fmt.Errorf("camera %s: give both width and height, or neither", cfg.Name)
	case cfg.FPS < 0 || cfg.FPS > maxFPS:
		return spec{}, fmt.Errorf("camera %s: fps %g out of range (0..%d)", cfg.Name, cfg.FPS, maxFPS)
	case cfg.Loop && sp.kind.live():
		return spec{}, fmt.Errorf("camera %s: loop applies to files only, not to a %s", cfg.Name, sp.kind)
	}
	return sp, nil
}

// Name returns the camera's name.
func (c *Camera) Name() string { return c.cfg.Name }

// Kind returns what kind of source the camera reads.
func (c *Camera) Kind() Kind { return c.spec.kind }

// Next waits for a frame newer than the last one it returned and returns
// it. The frame belongs to the camera and stays valid until the next call
// to Next. Next returns io.EOF after the last frame of a file without Loop,
// ErrClosed after Close, and ctx.Err() when ctx ends first.
func (c *Camera) Next(ctx context.Context) (*frame.Frame, error) {
	for {
		select {
		case <-c.done:
			if errors.Is(c.endErr, io.EOF) {
				if f := c.mb.take(); f != nil {
					return f, nil
				}
			} else {
				c.mb.take() // end the loan of the last frame
			}
			return nil, c.endErr
		default:
		}
		if f := c.mb.take(); f != nil {
			return f, nil
		}
		select {
		case <-c.mb.ready:
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close stops capturing, releases the device and waits for the capture
// goroutine. It is idempotent and always returns nil. A source read by the
// capture helper is stopped by killing the helper, so a stream stuck in
// the network does not hold Close up.
func (c *Camera) Close() error {
	c.once.Do(func() {
		c.cancel()
		<-c.done
	})
	return nil
}

// Done is closed when capturing has stopped (Close, context, or end of a
// file without Loop).
func (c *Camera) Done() <-chan struct{} { return c.done }

// Drops returns how many captured frames were overwritten before anyone
// took them (the pipeline reports it per camera).
func (c *Camera) Drops() uint64 { return c.drops.Load() }

// Stats returns the camera's counters.
func (c *Camera) Stats() Stats {
	c.mu.Lock()
	last := c.lastErr
	c.mu.Unlock()
	return Stats{
		Frames:     c.frames.Load(),
		Drops:      c.drops.Load(),
		Reconnects: c.reconnects.Load(),
		Attempts:   c.attempts.Load(),
		State:      State(c.state.Load()),
		Kind:       c.spec.kind,
		LastError:  last,
	}
}

// setState records a state and logs only when it changed, so a camera that
// stays unplugged logs once, not once per attempt.
func (c *Camera) setState(s State, err error) {
	if err != nil {
		c.mu.Lock()
		c.lastErr = err.Error()
		c.mu.Unlock()
	}
	old := State(c.state.Swap(int32(s)))
	if old == s {
		return
	}
	switch s {
	case Streaming:
		c.log.Info("camera streaming", "source", Redact(c.cfg.Source), "kind", c.spec.kind.String())
	case Retrying:
		c.log.Warn("camera unavailable, retrying with backoff", "source", Redact(c.cfg.Source), "err", err)
	case Ended:
		c.log.Info("camera source ended", "frames", c.frames.Load())
	case Closed:
		c.log.Debug("camera closed")
	}
}

// run is the capture goroutine: open, stream, and reopen with backoff.
func (c *Camera) run(ctx context.Context) {
	end := ErrClosed
	defer func() {
		c.endErr = end
		if end == ErrClosed {
			c.setState(Closed, nil)
		} else {
			c.setState(Ended, nil)
		}
		close(c.done)
	}()
	bo := backoff{min: c.cfg.MinBackoff, max: c.cfg.MaxBackoff}
	failed := false // the last attempt or stream failed: the next open is a reconnect
	for ctx.Err() == nil {
		c.attempts.Add(1)
		cp, err := c.open(ctx, c.spec, c.cfg)
		if err != nil {
			c.setState(Retrying, err)
			failed = true
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		if failed {
			c.reconnects.Add(1)
		}
		n, err := c.stream(ctx, cp)
		cp.close()
		if n > 0 {
			bo.reset()
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, io.EOF) && !c.spec.kind.live() && n > 0:
			if !c.cfg.Loop {
				end = io.EOF
				return
			}
			failed = false // rewind: reopen at once
			continue
		case errors.Is(err, io.EOF):
			err = fmt.Errorf("%s ended after %d frames", c.spec.kind, n)
		}
		c.setState(Retrying, err)
		failed = true
		if !sleep(ctx, bo.next()) {
			return
		}
	}
}

// stream reads frames from cp into the mailbox until an error or ctx ends,
// and returns how many it read.
func (c *Camera) stream(ctx context.Context, cp capture) (int, error) {
	var interval time.Duration
	if !c.spec.kind.live() && !c.cfg.Unpaced {
		fps := c.cfg.FPS
		if fps <= 0 {
			fps = cp.fps()
		}
		if fps <= 0 || fps > maxFPS {
			fps = defaultFileFPS
		}
		interval = time.Duration(float64(time.Second) / fps)
	}
	var t *time.Timer
	if interval > 0 {
		t = time.NewTimer(0)
		defer t.Stop()
		<-t.C
	}
	n := 0
	next := time.Now()
	for {
		if c.cfg.Unpaced && !c.spec.kind.live() {
			// Benchmarks see every frame: wait until the last one was taken.
			for c.mb.full() {
				select {
				case <-c.mb.taken:
				case <-ctx.Done():
					return n, ctx.Err()
				}
			}
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		buf := c.mb.writable()
		if err := cp.read(buf); err != nil {
			c.mb.discard(buf)
			return n, err
		}
		n++
		c.frameSeq++
		buf.Seq, buf.Time = c.frameSeq, time.Now()
		c.frames.Add(1)
		if c.mb.put(buf) {
			c.drops.Add(1)
		}
		if n == 1 {
			c.setState(Streaming, nil)
			if c.spec.kind == Image && !c.cfg.Loop {
				return n, io.EOF // one still, no reason to wait a frame interval
			}
		}
		if interval > 0 {
			next = next.Add(interval)
			d := time.Until(next)
			if d < -interval { // fell behind (slow decode): don't burst to catch up
				next, d = time.Now(), 0
			}
			if d > 0 {
				t.Reset(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					return n, ctx.Err()
				}
			}
		}
	}
}

// sleep waits d or until ctx ends, and reports whether to go on.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
