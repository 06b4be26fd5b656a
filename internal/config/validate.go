package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Validate checks every field and returns all problems at once, each
// naming its key (e.g. "detector.model: must be short or full, not \"tiny\"").
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}

	if strings.TrimSpace(c.StateDir) == "" {
		bad("state_dir", "must not be empty")
	}
	if c.HTTP.Listen == "" {
		bad("http.listen", "must not be empty")
	} else if err := checkAddr(c.HTTP.Listen); err != nil {
		bad("http.listen", "%v", err)
	}
	if c.HTTP.RedirectListen != "" {
		if err := checkAddr(c.HTTP.RedirectListen); err != nil {
			bad("http.redirect_listen", "%v", err)
		}
	}
	if (c.HTTP.CertFile == "") != (c.HTTP.KeyFile == "") {
		bad("http.cert_file", "cert_file and key_file must be set together")
	}

	names := map[string]int{}
	for i, cam := range c.Cameras {
		key := fmt.Sprintf("cameras[%d]", i)
		switch {
		case cam.Name == "":
			bad(key+".name", "must not be empty")
		case !validName(cam.Name):
			bad(key+".name", "%q: use letters, digits, - and _ only (at most 32)", cam.Name)
		default:
			if j, dup := names[cam.Name]; dup {
				bad(key+".name", "%q is already used by cameras[%d]", cam.Name, j)
			}
			names[cam.Name] = i
		}
		if strings.TrimSpace(cam.Source) == "" {
			bad(key+".source", "must not be empty")
		}
		if cam.Width < 0 || cam.Width > 8192 {
			bad(key+".width", "must be between 0 and 8192, not %d", cam.Width)
		}
		if cam.Height < 0 || cam.Height > 8192 {
			bad(key+".height", "must be between 0 and 8192, not %d", cam.Height)
		}
		if cam.FPS < 0 || cam.FPS > 240 {
			bad(key+".fps", "must be between 0 and 240, not %d", cam.FPS)
		}
	}

	if c.Detector.Model != "short" && c.Detector.Model != "full" {
		bad("detector.model", "must be short or full, not %q", c.Detector.Model)
	}
	if !(c.Detector.MinScore > 0 && c.Detector.MinScore < 1) {
		bad("detector.min_score", "must be between 0 and 1 (exclusive), not %g", c.Detector.MinScore)
	}
	if !(c.Recognition.Threshold >= 0 && c.Recognition.Threshold < 1) {
		bad("recognition.threshold", "must be in [0,1) (0: calibrated default), not %g", c.Recognition.Threshold)
	}
	if c.Recognition.PresenceTimeout <= 0 {
		bad("recognition.presence_timeout", "must be positive, like 5m, not %s", c.Recognition.PresenceTimeout)
	}
	if c.Events.Retention < 0 {
		bad("events.retention", "must not be negative")
	}
	if c.Events.Max < 0 {
		bad("events.max", "must not be negative")
	}

	if c.MQTT.Broker != "" {
		u, err := url.Parse(c.MQTT.Broker)
		switch {
		case err != nil:
			bad("mqtt.broker", "not a URL: %v", err)
		case !oneOf(u.Scheme, "tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"):
			bad("mqtt.broker", "scheme must be tcp://, ssl://, ws:// or wss://, not %q", c.MQTT.Broker)
		case u.Host == "":
			bad("mqtt.broker", "%q has no host", c.MQTT.Broker)
		}
	}
	if strings.ContainsAny(c.MQTT.BaseTopic, "+#\x00") || strings.HasPrefix(c.MQTT.BaseTopic, "/") || strings.HasSuffix(c.MQTT.BaseTopic, "/") {
		bad("mqtt.base_topic", "%q: no wildcards (+ #) and no leading or trailing /", c.MQTT.BaseTopic)
	}
	if c.MQTT.QoS < 0 || c.MQTT.QoS > 2 {
		bad("mqtt.qos", "must be 0, 1 or 2, not %d", c.MQTT.QoS)
	}
	if c.MQTT.Keepalive < 0 {
		bad("mqtt.keepalive", "must not be negative")
	}
	if (c.MQTT.CertFile == "") != (c.MQTT.KeyFile == "") {
		bad("mqtt.cert_file", "cert_file and key_file must be set together")
	}

	if c.WebRTC.UDPPort < 0 || c.WebRTC.UDPPort > 65535 {
		bad("webrtc.udp_port", "must be between 0 and 65535, not %d", c.WebRTC.UDPPort)
	}
	if c.WebRTC.MaxPeers < 1 || c.WebRTC.MaxPeers > 64 {
		bad("webrtc.max_peers", "must be between 1 and 64, not %d", c.WebRTC.MaxPeers)
	}
	for i, s := range c.WebRTC.ICEServers {
		scheme, _, _ := strings.Cut(s, ":")
		if !oneOf(scheme, "stun", "stuns", "turn", "turns") {
			bad(fmt.Sprintf("webrtc.ice_servers[%d]", i), "%q must start with stun:, stuns:, turn: or turns:", s)
		}
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		bad("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	return errors.Join(errs...)
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. :8443)", addr)
	}
	if port == "" {
		return fmt.Errorf("%q has no port", addr)
	}
	return nil
}

func validName(s string) bool {
	if len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func oneOf(s string, set ...string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}
