// Package config is facegate's typed configuration: defaults, then a YAML
// file, then FACEGATE_* environment variables, then validation with messages
// that name the field. Only internal/app and cmd/facegate import it (and the
// adapters that take their own section of it).
package config

import (
	"os"
	"time"
)

// Config is the whole daemon configuration. The yaml tag is the key in the
// file; the doc tag feeds Reference, so the README's table cannot drift.
type Config struct {
	StateDir    string      `yaml:"state_dir" doc:"directory for the database, the generated certificate and other state (/var/lib/facegate under systemd)"`
	HTTP        HTTP        `yaml:"http"`
	Cameras     []Camera    `yaml:"cameras" doc:"device cameras; none means only browser cameras"`
	Detector    Detector    `yaml:"detector"`
	Recognition Recognition `yaml:"recognition"`
	Events      Events      `yaml:"events"`
	MQTT        MQTT        `yaml:"mqtt"`
	WebRTC      WebRTC      `yaml:"webrtc"`
	Models      Models      `yaml:"models"`
	Log         Log         `yaml:"log"`
}

// HTTP configures the HTTPS server.
type HTTP struct {
	Listen         string `yaml:"listen" doc:"HTTPS listen address (:443 under systemd)"`
	RedirectListen string `yaml:"redirect_listen" doc:"plain-HTTP address that only redirects to HTTPS, e.g. :80; empty: off"`
	CertFile       string `yaml:"cert_file" doc:"PEM certificate; empty: generated and kept in state_dir"`
	KeyFile        string `yaml:"key_file" doc:"PEM private key for cert_file"`
}

// Camera is one device camera.
type Camera struct {
	Name   string `yaml:"name" doc:"short name used in URLs, events and MQTT topics (letters, digits, - and _)"`
	Source string `yaml:"source" doc:"/dev/videoN, N, gst:<pipeline>, rtsp://…, http(s)://… or a file"`
	Width  int    `yaml:"width" doc:"requested frame width in pixels; 0: the source's"`
	Height int    `yaml:"height" doc:"requested frame height in pixels; 0: the source's"`
	FPS    int    `yaml:"fps" doc:"requested frame rate; 0: the source's"`
	Loop   bool   `yaml:"loop" doc:"replay a file source from the start when it ends"`
}

// Detector configures face detection.
type Detector struct {
	Model    string  `yaml:"model" doc:"BlazeFace variant: short (128×128, faces within ~2 m) or full (192×192)"`
	MinScore float64 `yaml:"min_score" doc:"minimum detection score, in (0,1)"`
}

// Recognition configures matching against the gallery.
type Recognition struct {
	Threshold       float64       `yaml:"threshold" doc:"cosine similarity needed to name a face, in [0,1); 0: the calibrated default"`
	PresenceTimeout time.Duration `yaml:"presence_timeout" doc:"a person unseen this long is reported away"`
}

// Events configures the event log.
type Events struct {
	Retention time.Duration `yaml:"retention" doc:"events older than this are deleted; 0: kept until max"`
	Max       int           `yaml:"max" doc:"at most this many events are kept; 0: no limit"`
}

// MQTT configures the home-automation bridge.
type MQTT struct {
	Broker             string        `yaml:"broker" doc:"tcp://, ssl://, ws:// or wss:// URL; empty: MQTT off"`
	BaseTopic          string        `yaml:"base_topic" doc:"topic prefix; empty: facegate/<device-id>"`
	ClientID           string        `yaml:"client_id" doc:"MQTT client id; empty: facegate-<device-id>"`
	Username           string        `yaml:"username" doc:"broker user name"`
	PasswordFile       string        `yaml:"password_file" doc:"file holding the broker password; empty: $CREDENTIALS_DIRECTORY/mqtt_password when present"`
	CAFile             string        `yaml:"ca_file" doc:"PEM CA bundle for ssl:// and wss:// brokers"`
	CertFile           string        `yaml:"cert_file" doc:"PEM client certificate"`
	KeyFile            string        `yaml:"key_file" doc:"PEM client key"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify" doc:"accept any broker certificate (testing only)"`
	QoS                int           `yaml:"qos" doc:"QoS of published messages: 0, 1 or 2"`
	Keepalive          time.Duration `yaml:"keepalive" doc:"keepalive interval"`
	Discovery          bool          `yaml:"discovery" doc:"publish Home Assistant MQTT discovery"`

	// Password is read from PasswordFile or the credentials directory by
	// Load; it never comes from the YAML file or the environment.
	Password Secret `yaml:"-"`
}

// WebRTC configures browser camera and live-view sessions.
type WebRTC struct {
	UDPPort         int      `yaml:"udp_port" doc:"single UDP port for all peers; 0: any"`
	ICEServers      []string `yaml:"ice_servers" doc:"STUN/TURN URLs for use beyond the LAN"`
	MaxPeers        int      `yaml:"max_peers" doc:"cap on concurrent browser peers"`
	IncludeLoopback bool     `yaml:"include_loopback" doc:"offer 127.0.0.1 candidates (browser tests on one machine)"`
}

// Models overrides the embedded model files with files on disk.
type Models struct {
	Short      string `yaml:"short" doc:"path of face_detection_short_range.tflite; empty: embedded"`
	Full       string `yaml:"full" doc:"path of the full-range detector; empty: embedded"`
	Recognizer string `yaml:"recognizer" doc:"path of MobileFaceNet.tflite; empty: embedded"`
}

// Log configures logging.
type Log struct {
	Level string `yaml:"level" doc:"debug, info, warn or error"`
}

// Default returns the defaults for this process: state in /var/lib/facegate
// and HTTPS on :443 when started by systemd, ./data and :8443 otherwise.
func Default() Config { return defaults(os.Getenv) }

// UnderSystemd reports whether the process was started by systemd, which sets
// INVOCATION_ID for every unit and NOTIFY_SOCKET for Type=notify.
func UnderSystemd(getenv func(string) string) bool {
	return getenv("INVOCATION_ID") != "" || getenv("NOTIFY_SOCKET") != ""
}

func defaults(getenv func(string) string) Config {
	c := Config{
		StateDir:    "./data",
		HTTP:        HTTP{Listen: ":8443"},
		Detector:    Detector{Model: "short", MinScore: 0.5},
		Recognition: Recognition{PresenceTimeout: 5 * time.Minute},
		Events:      Events{Retention: 720 * time.Hour, Max: 10000},
		MQTT:        MQTT{QoS: 1, Keepalive: 30 * time.Second, Discovery: true},
		WebRTC:      WebRTC{MaxPeers: 4},
		Log:         Log{Level: "info"},
	}
	if UnderSystemd(getenv) {
		c.StateDir = "/var/lib/facegate"
		c.HTTP.Listen = ":443"
	}
	return c
}
