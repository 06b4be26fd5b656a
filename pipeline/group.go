package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrCameraExists is returned when a camera name is already running.
var ErrCameraExists = errors.New("camera already running")

// ErrNoCamera is returned for a camera that is not running.
var ErrNoCamera = errors.New("no such camera")

// Group owns the runners of a daemon, one goroutine each: device cameras
// from the configuration and browser cameras that come and go. Runners
// stop when their context ends, when Stop names them, or when the group
// closes; Close waits for all of them.
type Group struct {
	mu      sync.Mutex
	runners map[string]*member
	closed  bool
	wg      sync.WaitGroup
}

type member struct {
	r      *Runner
	cancel context.CancelFunc
	done   chan struct{}
}

// NewGroup returns an empty group.
func NewGroup() *Group { return &Group{runners: make(map[string]*member)} }

// Start builds a runner from cfg (Camera is required and unique) and runs
// it until ctx ends, Stop or Close. done, when not nil, is called after
// the runner has returned and its source is closed.
func (g *Group) Start(ctx context.Context, cfg Config, done func(error)) (*Runner, error) {
	name := strings.TrimSpace(cfg.Camera)
	if name == "" {
		return nil, errors.New("pipeline: a camera in a group needs a name")
	}
	r, err := NewRunner(cfg)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errors.New("pipeline: group closed")
	}
	if _, ok := g.runners[name]; ok {
		return nil, fmt.Errorf("camera %q: %w", name, ErrCameraExists)
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &member{r: r, cancel: cancel, done: make(chan struct{})}
	g.runners[name] = m
	g.wg.Go(func() {
		defer close(m.done)
		defer cancel()
		err := r.Run(ctx)
		g.mu.Lock()
		if g.runners[name] == m {
			delete(g.runners, name)
		}
		g.mu.Unlock()
		if done != nil {
			done(err)
		}
	})
	return r, nil
}

// Stop stops one camera's runner and waits for it.
func (g *Group) Stop(camera string) error {
	g.mu.Lock()
	m, ok := g.runners[camera]
	g.mu.Unlock()
	if !ok {
		return fmt.Errorf("camera %q: %w", camera, ErrNoCamera)
	}
	m.cancel()
	<-m.done
	return nil
}

// Runner returns the runner of a camera.
func (g *Group) Runner(camera string) (*Runner, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	m, ok := g.runners[camera]
	if !ok {
		return nil, false
	}
	return m.r, true
}

// Runners returns the running runners sorted by camera name.
func (g *Group) Runners() []*Runner {
	g.mu.Lock()
	names := make([]string, 0, len(g.runners))
	for n := range g.runners {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*Runner, len(names))
	for i, n := range names {
		out[i] = g.runners[n].r
	}
	g.mu.Unlock()
	return out
}

// TrackSamples returns the best faces of a live track of a camera, for
// "enroll track 7 of the door camera as 김민수".
func (g *Group) TrackSamples(camera string, track int) ([]Sample, error) {
	r, ok := g.Runner(camera)
	if !ok {
		return nil, fmt.Errorf("camera %q: %w", camera, ErrNoCamera)
	}
	return r.TrackSamples(track)
}

// Close stops every runner and waits for them. It is idempotent.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	for _, m := range g.runners {
		m.cancel()
	}
	g.mu.Unlock()
	g.wg.Wait()
}
