package mqtt

import (
	"context"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// maxQueuedBytes bounds the request payloads waiting for the worker, so a
// flood of large requests cannot pin much memory.
const maxQueuedBytes = 8 * MaxPayload

// enqueueRequest hands a request to the worker, or answers "busy" at once
// when the worker's queue is full (by count or by bytes). paho's handlers
// must not block, and the broker's in-flight window does not hold back a
// burst (mosquitto keeps sending while earlier messages are unacknowledged),
// so the queue itself is sized for a burst (Options.RequestQueue).
func (b *Bridge) enqueueRequest(r request) {
	size := int64(len(r.payload))
	if b.queuedBytes.Add(size) <= maxQueuedBytes {
		select {
		case b.reqs <- r:
			return
		default:
		}
	}
	b.queuedBytes.Add(-size)
	b.requestsBusy.Add(1)
	if r.ack != nil {
		r.ack()
	}
	msg := "busy: too many requests waiting; try again"
	resp := response{Transaction: transactionOf(r.payload), Status: "error", Error: &msg}
	b.offer(b.t.response(responseOp(r.op)), mustJSON(resp), false)
}

// offer queues an outgoing message without waiting; when the queue is full
// the message is dropped and counted, and the count is logged at most once a
// second.
func (b *Bridge) offer(topic string, payload []byte, retained bool) {
	select {
	case b.out <- outMsg{topic: topic, payload: payload, retained: retained}:
	default:
		n := b.dropped.Add(1)
		if b.dropLog.ok() {
			b.log.Warn("mqtt outgoing queue full; messages dropped", "dropped_total", n)
		}
	}
}

// send queues an outgoing message, waiting for room; only the bridge's own
// goroutines use it (responses must not be lost to a momentary burst).
func (b *Bridge) send(ctx context.Context, topic string, payload []byte, retained bool) {
	select {
	case b.out <- outMsg{topic: topic, payload: payload, retained: retained}:
	case <-ctx.Done():
	}
}

// publishWindow is how many publishes may wait for the broker's
// acknowledgement at once: enough to keep a loopback or LAN link busy, few
// enough that paho's store stays small.
const publishWindow = 32

// publisher owns the connection's write side. It keeps at most
// publishWindow publishes unacknowledged, so paho's buffers stay bounded.
// What arrives while the broker is away is dropped and counted; retained
// state is published again on the next connection anyway.
func (b *Bridge) publisher(ctx context.Context) {
	var pending []paho.Token // oldest first
	settle := func(tok paho.Token) {
		if tok.Error() != nil {
			b.lostOffline.Add(1)
			return
		}
		b.published.Add(1)
	}
	// A lost connection fails its pending publishes (paho completes their
	// tokens with an error first); whatever is not complete is given up.
	abandon := func() {
		for _, tok := range pending {
			select {
			case <-tok.Done():
				settle(tok)
			default:
				b.lostOffline.Add(1)
			}
		}
		pending = nil
	}
	for {
		var oldest <-chan struct{}
		if len(pending) > 0 {
			oldest = pending[0].Done()
		}
		select {
		case <-oldest:
			settle(pending[0])
			pending = pending[1:]
			continue
		case <-b.connLost:
			abandon()
			continue
		case m := <-b.out:
			if !b.client.IsConnectionOpen() {
				n := b.lostOffline.Add(1)
				if b.dropLog.ok() {
					b.log.Warn("mqtt broker away; messages lost", "lost_total", n)
				}
				continue
			}
			pending = append(pending, b.client.Publish(m.topic, b.opts.QoS, m.retained, m.payload))
		case <-ctx.Done():
			return
		}
		if len(pending) < publishWindow {
			continue
		}
		select {
		case <-pending[0].Done():
			settle(pending[0])
			pending = pending[1:]
		case <-time.After(b.opts.ConnectTimeout):
			b.lostOffline.Add(1) // the broker stopped acknowledging; paho notices at the next keepalive
			pending = pending[1:]
		case <-b.connLost:
			abandon()
		case <-ctx.Done():
			return
		}
	}
}

// signal does a coalescing, non-blocking notification.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// rateLog allows one log line per interval.
type rateLog struct {
	every time.Duration
	last  atomic.Int64
}

func (r *rateLog) ok() bool {
	now := time.Now().UnixNano()
	last := r.last.Load()
	if now-last < int64(r.every) {
		return false
	}
	return r.last.CompareAndSwap(last, now)
}
