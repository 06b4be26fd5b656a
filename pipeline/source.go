package pipeline

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"facegate/pipeline/frame"
)

// Source delivers the newest frame of one camera. Device cameras
// (device/camera) and browser cameras (internal/rtc) implement it; its
// methods use only frame and standard types, so a package that may not
// import pipeline still satisfies it.
type Source interface {
	// Name identifies the camera in events ("door").
	Name() string
	// Next blocks until a frame newer than the last one returned is ready
	// and returns it. The frame stays valid until the next call to Next or
	// Close; the source reuses its buffers. io.EOF means the stream ended.
	Next(ctx context.Context) (*frame.Frame, error)
	// Close releases the device. It is idempotent.
	Close() error
}

// OpenFunc opens a source; the runner calls it again, with backoff, after
// the source fails or ends.
type OpenFunc func(ctx context.Context) (Source, error)

// ErrClosed is returned by a closed Mailbox.
var ErrClosed = errors.New("pipeline: source closed")

// Mailbox is a 1-slot latest-frame mailbox between a capture goroutine and
// the pipeline. The producer fills a buffer from Buffer and Publishes it; an
// unread frame that a newer one replaces is recycled and counted as a drop,
// so a slow pipeline skips frames instead of queueing them. Three buffers
// circulate (one being written, one waiting, one being read), so the steady
// state allocates nothing. A Mailbox is safe for one producer and one
// consumer.
type Mailbox struct {
	ready chan struct{} // capacity 1: a frame was published or the box closed

	mu         sync.Mutex
	free       []*frame.Frame
	slot       *frame.Frame // newest unread frame
	slotDecode time.Duration
	reading    *frame.Frame // handed out by the last Next
	lastDecode time.Duration
	err        error // set by CloseWithError

	published atomic.Uint64
	drops     atomic.Uint64
}

// NewMailbox returns an empty mailbox.
func NewMailbox() *Mailbox {
	return &Mailbox{ready: make(chan struct{}, 1), free: make([]*frame.Frame, 0, 4)}
}

// Buffer returns a frame for the producer to fill, w×h packed 3 bytes per
// pixel (Stride 3w). Its pixel buffer is reused and grows only when the
// size does. Hand it back with Publish or Discard.
func (m *Mailbox) Buffer(w, h int) *frame.Frame {
	m.mu.Lock()
	var f *frame.Frame
	if n := len(m.free); n > 0 {
		f = m.free[n-1]
		m.free = m.free[:n-1]
	}
	m.mu.Unlock()
	if f == nil {
		f = new(frame.Frame)
	}
	n := 3 * w * h
	if cap(f.Pix) < n {
		f.Pix = make([]byte, n)
	}
	f.Pix = f.Pix[:n]
	f.Width, f.Height, f.Stride = w, h, 3*w
	return f
}

// Publish makes f the newest frame; decode is how long producing it took
// (reported in the pipeline's "decode" stage). A frame still unread is
// recycled and counted as a drop. Publishing to a closed box discards f.
func (m *Mailbox) Publish(f *frame.Frame, decode time.Duration) {
	m.mu.Lock()
	if m.err != nil {
		m.free = append(m.free, f)
		m.mu.Unlock()
		return
	}
	if m.slot != nil {
		m.free = append(m.free, m.slot)
		m.drops.Add(1)
	}
	m.slot, m.slotDecode = f, decode
	m.mu.Unlock()
	m.published.Add(1)
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// Discard returns an unused buffer from Buffer.
func (m *Mailbox) Discard(f *frame.Frame) {
	m.mu.Lock()
	m.free = append(m.free, f)
	m.mu.Unlock()
}

// Next returns the newest frame, waiting for one if none is unread. The
// frame returned before becomes the producer's again. After
// CloseWithError, Next returns the pending frame, then the error.
func (m *Mailbox) Next(ctx context.Context) (*frame.Frame, error) {
	for {
		m.mu.Lock()
		if m.reading != nil {
			m.free = append(m.free, m.reading)
			m.reading = nil
		}
		if f := m.slot; f != nil {
			m.slot, m.reading, m.lastDecode = nil, f, m.slotDecode
			m.mu.Unlock()
			return f, nil
		}
		err := m.err
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.ready:
		}
	}
}

// CloseWithError ends the stream: Next returns err (io.EOF when nil) once
// the pending frame is read. Only the first call counts.
func (m *Mailbox) CloseWithError(err error) {
	if err == nil {
		err = io.EOF
	}
	m.mu.Lock()
	if m.err == nil {
		m.err = err
	}
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// Close ends the stream with ErrClosed.
func (m *Mailbox) Close() { m.CloseWithError(ErrClosed) }

// Drops returns how many unread frames were overwritten by newer ones.
func (m *Mailbox) Drops() uint64 { return m.drops.Load() }

// Published returns how many frames were published.
func (m *Mailbox) Published() uint64 { return m.published.Load() }

// DecodeTime returns the decode time of the frame last returned by Next.
func (m *Mailbox) DecodeTime() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastDecode
}

// OpenOnce returns an OpenFunc that hands out src once, for sources that
// cannot be reopened (a browser camera's peer connection). Later calls
// fail with ErrClosed, so run such a source with Tuning.ExitOnEOF and end
// it with the runner's context or io.EOF.
func OpenOnce(src Source) OpenFunc {
	var used atomic.Bool
	return func(context.Context) (Source, error) {
		if used.Swap(true) {
			return nil, ErrClosed
		}
		return src, nil
	}
}
