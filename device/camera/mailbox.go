package camera

import (
	"sync"

	"facegate/pipeline/frame"
)

// mailbox holds the newest captured frame and nothing else. It owns three
// frame buffers that circulate without allocation: one the capture
// goroutine writes, one waiting in the slot, one lent to the consumer until
// its next call. Putting a frame into a full slot overwrites (drops) the
// older one: latency beats completeness.
type mailbox struct {
	mu    sync.Mutex
	slot  *frame.Frame   // newest frame not yet taken
	held  *frame.Frame   // lent to the consumer by the last take
	spare []*frame.Frame // free buffers
	ready chan struct{}  // a token when the slot was filled
	taken chan struct{}  // a token when the slot was emptied
}

func newMailbox() *mailbox {
	m := &mailbox{
		spare: make([]*frame.Frame, 0, 3),
		ready: make(chan struct{}, 1),
		taken: make(chan struct{}, 1),
	}
	for range 3 {
		m.spare = append(m.spare, &frame.Frame{Format: frame.BGR})
	}
	return m
}

// writable returns a free buffer for the capture goroutine. With three
// buffers and at most one in the slot and one lent, one is always free.
func (m *mailbox) writable() *frame.Frame {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.spare) - 1
	f := m.spare[n]
	m.spare = m.spare[:n]
	return f
}

// discard gives back a buffer the capture goroutine could not fill.
func (m *mailbox) discard(f *frame.Frame) {
	m.mu.Lock()
	m.spare = append(m.spare, f)
	m.mu.Unlock()
}

// put publishes f as the newest frame and reports whether an untaken frame
// was overwritten.
func (m *mailbox) put(f *frame.Frame) (dropped bool) {
	m.mu.Lock()
	if m.slot != nil {
		m.spare = append(m.spare, m.slot)
		dropped = true
	}
	m.slot = f
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
	return dropped
}

// full reports whether a frame waits in the slot.
func (m *mailbox) full() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.slot != nil
}

// take ends the consumer's loan of the previous frame and returns the
// newest one, or nil when none is waiting.
func (m *mailbox) take() *frame.Frame {
	m.mu.Lock()
	if m.held != nil {
		m.spare = append(m.spare, m.held)
		m.held = nil
	}
	f := m.slot
	m.slot, m.held = nil, f
	m.mu.Unlock()
	if f != nil {
		select {
		case m.taken <- struct{}{}:
		default:
		}
	}
	return f
}
