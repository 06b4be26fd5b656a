package mqtt

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

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
	msg := strings.Replace(explain(b.opts, err).Error(), "network Error : ", "", 1)
	b.mu.Lock()
	changed := msg != b.lastErr
	b.lastErr = msg
	b.mu.Unlock()
	if changed {
		b.log.Warn("mqtt connection failed; retrying", "err", msg)
	}
}

// explain turns TLS failures into messages that say what to fix.
func explain(o Options, err error) error {
	broker := o.Broker
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
	// A TLS broker that wants a client certificate just drops the
	// connection of a client without one: say what that usually means.
	secure := strings.HasPrefix(broker, "ssl:") || strings.HasPrefix(broker, "tls:") || strings.HasPrefix(broker, "mqtts:") || strings.HasPrefix(broker, "wss:")
	dropped := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "certificate required")
	if secure && dropped && o.CertFile == "" {
		return fmt.Errorf("connect %s: the broker closed the TLS connection; does it require a client certificate (cert_file, key_file)? %w", broker, err)
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
