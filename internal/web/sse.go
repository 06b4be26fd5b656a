package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Message is one server-sent event: a name and its JSON data.
type Message struct {
	Event string
	Data  []byte // one line of JSON
}

// Broker fans messages out to every open page. Each page has a bounded
// buffer; a page that falls behind loses messages (and is told to resync),
// it never blocks Publish.
type Broker struct {
	size    int
	dropped atomic.Uint64

	mu      sync.Mutex
	clients map[*streamClient]struct{}
	closed  bool
	done    chan struct{} // closed by Close
}

type streamClient struct {
	ch     chan Message
	lagged atomic.Bool // a message was dropped: the page must refetch
}

// NewBroker returns a broker whose clients buffer size messages each.
func NewBroker(size int) *Broker {
	return &Broker{size: max(size, 1), clients: map[*streamClient]struct{}{}, done: make(chan struct{})}
}

// Publish sends v (encoded as JSON) as event to every client, without
// blocking. Event names are single words ("people", "event", "cameras").
func (b *Broker) Publish(event string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	b.PublishRaw(Message{Event: event, Data: data})
}

// PublishRaw sends an already encoded message to every client.
func (b *Broker) PublishRaw(m Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.clients {
		select {
		case c.ch <- m:
		default:
			c.lagged.Store(true)
			b.dropped.Add(1)
		}
	}
}

func (b *Broker) subscribe() (*streamClient, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, false
	}
	c := &streamClient{ch: make(chan Message, b.size)}
	b.clients[c] = struct{}{}
	return c, true
}

func (b *Broker) unsubscribe(c *streamClient) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.clients, c)
}

// Clients returns the number of open streams.
func (b *Broker) Clients() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.clients)
}

// Dropped returns how many messages slow clients lost.
func (b *Broker) Dropped() uint64 { return b.dropped.Load() }

// Close ends every stream; later subscriptions are refused. Idempotent.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.done)
	}
}

// heartbeat keeps idle streams alive through proxies and lets the server
// notice pages that went away.
const heartbeat = 20 * time.Second

// handleStream is GET /api/stream: server-sent events. The first event is
// "hello", after which the page (re)loads its state; "resync" asks for the
// same after lost messages.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	c, ok := s.broker.subscribe()
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	defer s.broker.unsubscribe(c)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(event string, data []byte) bool {
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil || !write("hello", []byte("{}")) {
		return
	}
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case m := <-c.ch:
			if !write(m.Event, m.Data) {
				return
			}
			if c.lagged.Swap(false) && !write("resync", []byte("{}")) {
				return
			}
		case <-t.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case <-s.broker.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
