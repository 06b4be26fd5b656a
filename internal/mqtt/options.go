package mqtt

import (
	"facegate/pipeline/annotate"

	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"facegate/internal/config"
)

// DefaultFontPath is where Debian's fonts-nanum puts NanumGothic, a font that
// covers Hangul; the snapshot draws names with it.
const DefaultFontPath = annotate.DefaultFontPath

// MaxPayload is the largest request payload the bridge accepts (8 MiB).
const MaxPayload = 8 << 20

// ErrDisabled is returned by New when no broker is configured: MQTT is off and
// the app runs without a bridge.
var ErrDisabled = errors.New("mqtt: no broker configured")

// Options configures a Bridge. The zero value of every optional field means
// its default.
type Options struct {
	Broker   string // tcp://, ssl://, ws:// or wss:// URL; empty: MQTT off
	DeviceID string // stable id of this device: topics, client id and Home Assistant ids derive from it
	ClientID string // default facegate-<device-id>; stable, so the broker sees one client across restarts
	Username string
	Password string // never logged (LogValue redacts it)

	CAFile             string // PEM CA bundle; empty: the system roots
	CertFile, KeyFile  string // optional client certificate
	InsecureSkipVerify bool   // accept any broker certificate (testing only)

	BaseTopic       string        // default facegate/<device-id>
	QoS             byte          // QoS of published messages (default 1 via FromConfig; 0 is honoured)
	Keepalive       time.Duration // default 30s
	ConnectTimeout  time.Duration // one connection attempt; default 10s
	MaxBackoff      time.Duration // cap of the reconnect backoff; default 30s
	Discovery       bool          // publish Home Assistant discovery
	DiscoveryPrefix string        // default "homeassistant"
	DeviceName      string        // shown in Home Assistant; default "facegate <device-id>"
	Version         string        // software version shown in Home Assistant

	// Camera is the camera used by the Home Assistant "register" button and
	// by register requests that say from:camera without naming one; empty
	// lets the gallery pick.
	Camera string
	// CameraTimeout bounds a register from:camera (default 10s, at most 60s).
	CameraTimeout time.Duration

	FontPath string // TrueType/OpenType font for names on the snapshot; default DefaultFontPath

	QueueSize    int // outgoing messages waiting for the broker; default 256
	EventQueue   int // events waiting to be announced; default 64
	RequestQueue int // requests waiting for the worker; default 1024 (a burst of a thousand requests is answered)
}

// FromConfig maps the daemon's configuration onto Options. The password is
// the one config.Load read from password_file or the credentials directory.
func FromConfig(c config.MQTT, deviceID, version string) Options {
	qos := c.QoS
	if qos < 0 || qos > 2 {
		qos = 1 // Validate in config refuses this; keep the bridge sane anyway
	}
	return Options{
		Broker:             c.Broker,
		DeviceID:           deviceID,
		ClientID:           c.ClientID,
		Username:           c.Username,
		Password:           c.Password.Reveal(),
		CAFile:             c.CAFile,
		CertFile:           c.CertFile,
		KeyFile:            c.KeyFile,
		InsecureSkipVerify: c.InsecureSkipVerify,
		BaseTopic:          c.BaseTopic,
		QoS:                byte(qos),
		Keepalive:          c.Keepalive,
		Discovery:          c.Discovery,
		Version:            version,
	}
}

// LogValue shows the options without the password.
func (o Options) LogValue() slog.Value {
	pw := ""
	if o.Password != "" {
		pw = "[redacted]"
	}
	return slog.GroupValue(
		slog.String("broker", o.Broker),
		slog.String("client_id", o.ClientID),
		slog.String("username", o.Username),
		slog.String("password", pw),
		slog.String("base_topic", o.BaseTopic),
		slog.Bool("discovery", o.Discovery),
	)
}

// withDefaults fills the defaults and checks everything that can be checked
// without the network.
func (o Options) withDefaults() (Options, error) {
	if strings.TrimSpace(o.Broker) == "" {
		return o, ErrDisabled
	}
	u, err := url.Parse(o.Broker)
	if err != nil {
		// url.Error repeats the URL, which might carry a password: say only why.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return o, fmt.Errorf("mqtt broker URL is malformed: %w", err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return o, fmt.Errorf("mqtt broker %q: scheme must be tcp://, ssl://, ws:// or wss://", o.Broker)
	}
	if u.User != nil {
		// The URL is logged and shown in errors: credentials do not belong in it.
		return o, errors.New("mqtt broker URL: no credentials in the URL; use username and password_file")
	}
	if u.Host == "" {
		return o, fmt.Errorf("mqtt broker %q: no host", o.Broker)
	}
	if o.DeviceID == "" {
		return o, errors.New("mqtt: device id is empty")
	}
	if !validID(o.DeviceID) {
		return o, fmt.Errorf("mqtt: device id %q: only letters, digits, - and _ are allowed", o.DeviceID)
	}
	if o.ClientID == "" {
		o.ClientID = "facegate-" + o.DeviceID
	}
	if o.BaseTopic == "" {
		o.BaseTopic = "facegate/" + o.DeviceID
	}
	if err := checkTopic(o.BaseTopic); err != nil {
		return o, fmt.Errorf("mqtt base topic %q: %w", o.BaseTopic, err)
	}
	if o.DiscoveryPrefix == "" {
		o.DiscoveryPrefix = "homeassistant"
	}
	if err := checkTopic(o.DiscoveryPrefix); err != nil {
		return o, fmt.Errorf("mqtt discovery prefix %q: %w", o.DiscoveryPrefix, err)
	}
	if o.QoS > 2 {
		return o, fmt.Errorf("mqtt qos %d: must be 0, 1 or 2", o.QoS)
	}
	if o.Keepalive <= 0 {
		o.Keepalive = 30 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.CameraTimeout <= 0 {
		o.CameraTimeout = 10 * time.Second
	}
	o.CameraTimeout = min(o.CameraTimeout, 60*time.Second)
	if o.DeviceName == "" {
		o.DeviceName = "facegate " + o.DeviceID
	}
	if o.FontPath == "" {
		o.FontPath = DefaultFontPath
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1024
	}
	if o.EventQueue <= 0 {
		o.EventQueue = 64
	}
	if o.RequestQueue <= 0 {
		o.RequestQueue = 1024
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return o, errors.New("mqtt: cert_file and key_file go together")
	}
	return o, nil
}

// tlsConfig builds the TLS configuration for ssl:// and wss:// brokers.
// Verification is on unless InsecureSkipVerify says otherwise.
func (o Options) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify} //nolint:gosec // opt-in, documented as testing only
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt ca_file %s: no PEM certificate in it", o.CAFile)
		}
		c.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// validID reports whether s is safe in topics and Home Assistant ids.
func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// checkTopic refuses wildcards and empty levels at either end of a topic prefix.
func checkTopic(t string) error {
	switch {
	case strings.ContainsAny(t, "+#\x00"):
		return errors.New("wildcards (+, #) are not allowed")
	case strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/"):
		return errors.New("no leading or trailing /")
	case len(t) > 200:
		return errors.New("too long")
	}
	return nil
}
