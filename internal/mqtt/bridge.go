// Package mqtt is facegate's home-automation adapter: it announces
// recognition events, presence, the people list and a snapshot over MQTT,
// publishes Home Assistant device discovery, and answers gallery requests
// (register, delete, rename, list, ignore, health) in zigbee2mqtt's
// request/response style. The contract is DESIGN.md's "MQTT contract".
//
// Only internal/app imports this package. It imports the pipeline's
// vocabulary, internal/config and paho, never the other adapters.
//
// Nothing here ever makes the pipeline wait: events enter a bounded queue
// and are dropped (and counted) when it is full; outgoing messages go through
// a second bounded queue owned by the bridge; paho's callbacks only hand
// work to the bridge's goroutines.
package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Bridge connects the daemon to an MQTT broker. Build it with New, run it
// with Start, stop it with Close. A nil *Bridge is a valid, disabled bridge:
// every method does nothing, so the app may keep one when MQTT is off.
type Bridge struct {
	opts    Options
	gallery Gallery
	log     *slog.Logger
	client  paho.Client
	t       topics

	out            chan outMsg   // publisher queue; bounded
	events         chan Event    // announcer queue; bounded, never blocks the sender
	presence       chan Presence // announcer queue; bounded, never blocks the sender
	reqs           chan request  // worker queue; bounded
	peopleDirty    chan struct{} // coalescing: the people list must be reloaded
	connected      chan struct{} // coalescing: a (re)connection happened
	haOnline       chan struct{} // coalescing: Home Assistant announced itself
	discoveryCheck chan struct{} // coalescing: a retained discovery arrived; tombstone stale people
	connLost       chan struct{} // coalescing: the connection dropped (for the publisher)
	reconnect      chan struct{} // coalescing: the connection dropped (for connectLoop)

	haKnown map[string]string // guarded by mu: component id → platform in the retained discovery

	mu      sync.Mutex
	lastErr string // last connection error, for Stats and health
	haName  string // the name typed into Home Assistant's text entity

	published, dropped, lostOffline, eventsDropped atomic.Uint64
	requests, requestsBusy, connects, snapFailed   atomic.Uint64
	queuedBytes                                    atomic.Int64 // payload bytes in reqs
	dropLog                                        rateLog

	started   atomic.Bool
	closeOnce sync.Once
	cancel    context.CancelFunc // guarded by mu
	closing   bool               // guarded by mu
	wg        sync.WaitGroup
}

// outMsg is one message waiting for the broker.
type outMsg struct {
	topic    string
	payload  []byte
	retained bool
}

// New checks the options and builds a bridge; it does not touch the network.
// It returns ErrDisabled when opts.Broker is empty: the app then runs without
// MQTT (and may keep the nil *Bridge, whose methods do nothing).
func New(opts Options, gallery Gallery, log *slog.Logger) (*Bridge, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if gallery == nil {
		return nil, errors.New("mqtt: no gallery")
	}
	if log == nil {
		log = slog.Default()
	}
	b := &Bridge{
		opts:           o,
		gallery:        gallery,
		log:            log.With("component", "mqtt"),
		t:              newTopics(o),
		out:            make(chan outMsg, o.QueueSize),
		events:         make(chan Event, o.EventQueue),
		presence:       make(chan Presence, o.EventQueue),
		reqs:           make(chan request, o.RequestQueue),
		peopleDirty:    make(chan struct{}, 1),
		connected:      make(chan struct{}, 1),
		haOnline:       make(chan struct{}, 1),
		discoveryCheck: make(chan struct{}, 1),
		connLost:       make(chan struct{}, 1),
		reconnect:      make(chan struct{}, 1),
	}
	b.dropLog.every = time.Second

	po := paho.NewClientOptions().
		AddBroker(o.Broker).
		SetClientID(o.ClientID).
		SetUsername(o.Username).
		SetPassword(o.Password).
		SetCleanSession(true).
		SetKeepAlive(o.Keepalive).
		SetPingTimeout(min(o.Keepalive, 10*time.Second)).
		SetConnectTimeout(o.ConnectTimeout).
		SetWriteTimeout(o.ConnectTimeout).
		// connectLoop (re)connects, with capped backoff, and stops with its
		// context. paho's own auto-reconnect is off: it re-sends the
		// unacknowledged publishes of a clean session while the old
		// connection may still be writing them (a data race inside paho).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(true).    // handlers only enqueue, they never block
		SetAutoAckDisabled(true). // a request is acknowledged once answered
		SetBinaryWill(b.t.status, []byte("offline"), 1, true).
		SetOnConnectHandler(b.onConnect).
		SetConnectionLostHandler(b.onConnectionLost).
		SetConnectionNotificationHandler(b.onNotification)
	if scheme := brokerScheme(o.Broker); scheme == "ssl" || scheme == "tls" || scheme == "mqtts" || scheme == "wss" {
		tc, err := o.tlsConfig()
		if err != nil {
			return nil, err
		}
		po.SetTLSConfig(tc)
	}
	b.client = paho.NewClient(po)
	return b, nil
}

func brokerScheme(u string) string {
	s, _, _ := strings.Cut(u, "://")
	return s
}

// Start connects in the background and starts the bridge's goroutines; it
// returns at once. The bridge runs until ctx is cancelled or Close is called.
// Connection failures are retried with capped backoff and reported by Stats.
func (b *Bridge) Start(ctx context.Context) error {
	if b == nil {
		return nil
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("mqtt: bridge already started")
	}
	ctx, cancel := context.WithCancel(ctx)
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		cancel()
		return errors.New("mqtt: bridge closed")
	}
	b.cancel = cancel
	b.wg.Add(4) // before Close can Wait
	b.mu.Unlock()
	people, _ := b.loadPeople(ctx) // logged; the list is reloaded on the next change
	go func() { defer b.wg.Done(); b.connectLoop(ctx) }()
	go func() { defer b.wg.Done(); b.publisher(ctx) }()
	go func() { defer b.wg.Done(); b.announcer(ctx, people) }()
	go func() { defer b.wg.Done(); b.worker(ctx) }()
	return nil
}

// Close publishes "offline", disconnects and stops the bridge's goroutines.
// It is idempotent and safe on a bridge that never started.
func (b *Bridge) Close() error {
	if b == nil {
		return nil
	}
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closing = true
		cancel := b.cancel
		b.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		b.wg.Wait()
		if b.client.IsConnectionOpen() {
			// A clean DISCONNECT suppresses the Last Will, so say it ourselves.
			tok := b.client.Publish(b.t.status, 1, true, "offline")
			tok.WaitTimeout(2 * time.Second)
		}
		b.client.Disconnect(250)
	})
	return nil
}

// Stats returns the bridge's counters.
func (b *Bridge) Stats() Stats {
	if b == nil {
		return Stats{}
	}
	b.mu.Lock()
	lastErr := b.lastErr
	b.mu.Unlock()
	return Stats{
		Connected:       b.client.IsConnectionOpen(),
		LastError:       lastErr,
		Published:       b.published.Load(),
		Dropped:         b.dropped.Load(),
		LostOffline:     b.lostOffline.Load(),
		EventsDropped:   b.eventsDropped.Load(),
		Requests:        b.requests.Load(),
		RequestsBusy:    b.requestsBusy.Load(),
		Connects:        b.connects.Load(),
		SnapshotsFailed: b.snapFailed.Load(),
	}
}

// BaseTopic returns the topic prefix in use.
func (b *Bridge) BaseTopic() string {
	if b == nil {
		return ""
	}
	return b.opts.BaseTopic
}

// connectLoop keeps the bridge connected for its whole life: it connects,
// waits for the connection to drop, and connects again, retrying failures
// with exponential backoff capped at MaxBackoff, until ctx ends.
func (b *Bridge) connectLoop(ctx context.Context) {
	delay := time.Second
	for {
		tok := b.client.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
			return
		}
		if err := tok.Error(); err != nil {
			b.setError(err)
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			delay = min(2*delay, b.opts.MaxBackoff)
			continue
		}
		delay = time.Second
		select {
		case <-b.reconnect:
		case <-ctx.Done():
			return
		}
	}
}

// setError records a connection error, explained, and logs it when it
// changes (a broker that stays away does not flood the journal).
func (b *Bridge) setError(err error) {
	// paho reports one failed attempt twice, once wrapped as "network
	// Error : …"; the same cause must read the same to be logged once.
	msg := strings.Replace(explain(b.opts.Broker, err).Error(), "network Error : ", "", 1)
	b.mu.Lock()
	changed := msg != b.lastErr
	b.lastErr = msg
	b.mu.Unlock()
	if changed {
		b.log.Warn("mqtt connection failed; retrying", "err", msg)
	}
}

// explain turns TLS failures into messages that say what to fix.
func explain(broker string, err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown):
		return fmt.Errorf("connect %s: TLS certificate verification failed: the broker's certificate is not signed by a trusted CA (check ca_file): %w", broker, err)
	case errors.As(err, &host):
		return fmt.Errorf("connect %s: TLS certificate verification failed: the certificate does not name this host: %w", broker, err)
	case errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("connect %s: TLS certificate verification failed: %w", broker, err)
	}
	return fmt.Errorf("connect %s: %w", broker, err)
}

// onConnect runs (on its own goroutine, paho starts it) after every
// connection: it restores the subscriptions, which a clean session loses, and
// asks the announcer to publish "online" and the retained state.
func (b *Bridge) onConnect(c paho.Client) {
	b.connects.Add(1)
	b.mu.Lock()
	b.lastErr = ""
	b.mu.Unlock()
	subs := map[string]byte{b.t.requests: 1}
	if b.opts.Discovery {
		subs[b.t.haStatus] = 1
		subs[b.t.haName] = 1
		subs[b.t.haRegister] = 1
		// The retained discovery of an earlier run tells which components
		// Home Assistant still knows, so removed people can be tombstoned.
		subs[b.t.discovery] = 1
	}
	tok := c.SubscribeMultiple(subs, b.onMessage)
	if !tok.WaitTimeout(b.opts.ConnectTimeout) || tok.Error() != nil {
		b.log.Warn("mqtt subscribe failed; requests are not served until the next connection", "err", tok.Error())
	}
	b.log.Info("mqtt connected", "broker", b.opts.Broker, "base_topic", b.opts.BaseTopic)
	signal(b.connected)
}

func (b *Bridge) onConnectionLost(_ paho.Client, err error) {
	b.setError(err)
	signal(b.connLost)
	signal(b.reconnect)
}

// onNotification records why a (re)connection attempt failed.
func (b *Bridge) onNotification(_ paho.Client, n paho.ConnectionNotification) {
	switch n := n.(type) {
	case paho.ConnectionNotificationBrokerFailed: // the cause behind a failed Connect
		if n.Reason != nil {
			b.setError(n.Reason)
		}
	}
}

// onMessage is paho's handler for every subscription. It never blocks: it
// hands the message to the worker or the announcer and returns.
func (b *Bridge) onMessage(_ paho.Client, m paho.Message) {
	topic := m.Topic()
	switch {
	case strings.HasPrefix(topic, b.t.requestPrefix):
		r := request{op: strings.TrimPrefix(topic, b.t.requestPrefix), payload: m.Payload(), ack: m.Ack}
		if m.Retained() {
			// A retained request would run again at every reconnection.
			r.retained = true
		}
		if len(r.payload) > MaxPayload {
			// Keep only the size: a queue of oversize payloads must not pin memory.
			r.tooLarge, r.payload = len(r.payload), nil
		}
		b.enqueueRequest(r)
		return
	case topic == b.t.haStatus:
		if strings.TrimSpace(string(m.Payload())) == "online" {
			signal(b.haOnline)
		}
	case topic == b.t.haName:
		b.setHAName(string(m.Payload()))
	case topic == b.t.haRegister && !m.Retained(): // a retained press would register again at every reconnection
		b.mu.Lock()
		name := b.haName
		b.mu.Unlock()
		b.enqueueRequest(request{op: "register", fromHA: true, haName: name})
		return
	case topic == b.t.discovery:
		b.noteDiscovery(m.Payload())
	}
	m.Ack()
}

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

// topics are the bridge's topic names.
type topics struct {
	status, event, people, snapshot string
	personPrefix                    string
	requests, requestPrefix         string
	responsePrefix                  string
	haStatus, haName, haNameState   string
	haRegister, discovery           string
}

func newTopics(o Options) topics {
	b := o.BaseTopic
	return topics{
		status:         b + "/status",
		event:          b + "/event",
		people:         b + "/people",
		snapshot:       b + "/snapshot",
		personPrefix:   b + "/person/",
		requests:       b + "/request/+",
		requestPrefix:  b + "/request/",
		responsePrefix: b + "/response/",
		haStatus:       o.DiscoveryPrefix + "/status",
		haName:         b + "/ha/name",
		haNameState:    b + "/ha/name/state",
		haRegister:     b + "/ha/register",
		discovery:      o.DiscoveryPrefix + "/device/" + o.DeviceID + "/config",
	}
}

func (t topics) person(id string) string { return t.personPrefix + id }

func (t topics) response(op string) string { return t.responsePrefix + op }
