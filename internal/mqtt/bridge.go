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
	"errors"
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
