package pipeline

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Hub fans messages out to subscribers without ever waiting for them: each
// subscriber has a small buffered channel, and a message that does not fit
// is dropped for that subscriber and counted. Drops are logged at most once
// a second per subscriber. Publish allocates nothing.
type Hub[T any] struct {
	log *slog.Logger

	mu     sync.RWMutex // held shared by Publish, exclusively to change subs or close
	subs   []*Sub[T]
	closed bool
}

// Sub is one subscription to a Hub. Receive from C; C is closed when the
// subscription or the hub is closed.
type Sub[T any] struct {
	C <-chan T

	name    string
	ch      chan T
	hub     *Hub[T]
	drops   atomic.Uint64
	logged  atomic.Uint64 // drops already reported in the log
	lastLog atomic.Int64  // unix nanoseconds of the last drop report
}

// NewHub returns a hub that logs drops to log (slog.Default when nil).
func NewHub[T any](log *slog.Logger) *Hub[T] {
	if log == nil {
		log = slog.Default()
	}
	return &Hub[T]{log: log}
}

// Subscribe adds a subscriber named name (for logs) with a buffer of size
// messages (at least 1). On a closed hub the subscription's C is closed.
func (h *Hub[T]) Subscribe(name string, size int) *Sub[T] {
	ch := make(chan T, max(size, 1))
	s := &Sub[T]{C: ch, name: name, ch: ch, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return s
	}
	// Copy on write: Publish may be iterating the old slice.
	subs := make([]*Sub[T], len(h.subs), len(h.subs)+1)
	copy(subs, h.subs)
	h.subs = append(subs, s)
	return s
}

// Publish offers v to every subscriber and returns how many took it. It
// never blocks.
func (h *Hub[T]) Publish(v T) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, s := range h.subs {
		select {
		case s.ch <- v:
			n++
		default:
			s.dropped(h.log)
		}
	}
	return n
}

// Subscribers returns the number of open subscriptions.
func (h *Hub[T]) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Close closes every subscription; later Publish calls deliver nothing.
// Call it after the publishers have stopped. It is idempotent.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, s := range h.subs {
		close(s.ch)
	}
	h.subs = nil
}

// Close ends the subscription and closes C. It is idempotent.
func (s *Sub[T]) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, o := range h.subs {
		if o == s {
			subs := make([]*Sub[T], 0, len(h.subs)-1)
			subs = append(subs, h.subs[:i]...)
			h.subs = append(subs, h.subs[i+1:]...)
			close(s.ch)
			return
		}
	}
}

// Drops returns how many messages this subscriber lost.
func (s *Sub[T]) Drops() uint64 { return s.drops.Load() }

// dropped counts a lost message and logs the count at most once a second.
func (s *Sub[T]) dropped(log *slog.Logger) {
	total := s.drops.Add(1)
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	prev := s.logged.Swap(total)
	log.Warn("slow subscriber lost messages", "subscriber", s.name, "dropped", total-prev, "total", total)
}
