package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		name          string
		env           map[string]string
		state, listen string
	}{
		{"terminal", nil, "./data", ":8443"},
		{"invocation id", map[string]string{"INVOCATION_ID": "abc"}, "/var/lib/facegate", ":443"},
		{"notify socket", map[string]string{"NOTIFY_SOCKET": "/run/x"}, "/var/lib/facegate", ":443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load("", env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.StateDir != tc.state || c.HTTP.Listen != tc.listen {
				t.Errorf("got state_dir %q listen %q, want %q %q", c.StateDir, c.HTTP.Listen, tc.state, tc.listen)
			}
			if c.Recognition.PresenceTimeout != 5*time.Minute || c.Events.Retention != 720*time.Hour || !c.MQTT.Discovery || c.WebRTC.MaxPeers != 4 {
				t.Errorf("unexpected defaults: %+v", c)
			}
		})
	}
}

func TestLoadFileThenEnv(t *testing.T) {
	p := writeFile(t, "c.yaml", `
state_dir: /tmp/fg
http:
  listen: ":9443"
cameras:
  - name: door
    source: /dev/video0
    width: 640
    height: 480
    fps: 15
detector:
  model: full
recognition:
  presence_timeout: 90s
mqtt:
  broker: tcp://127.0.0.1:1883
  discovery: false
webrtc:
  ice_servers: ["stun:stun.example:3478"]
`)
	c, err := Load(p, env(map[string]string{
		"FACEGATE_HTTP_LISTEN":             ":10443",
		"FACEGATE_RECOGNITION_THRESHOLD":   "0.45",
		"FACEGATE_MQTT_DISCOVERY":          "true",
		"FACEGATE_EVENTS_RETENTION":        "48h",
		"FACEGATE_WEBRTC_INCLUDE_LOOPBACK": "1",
		"FACEGATE_WEBRTC_ICE_SERVERS":      "ignored: lists only from the file",
		"FACEGATE_MQTT_PASSWORD":           "never read",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/tmp/fg" || c.HTTP.Listen != ":10443" || c.Detector.Model != "full" {
		t.Errorf("file/env overlay wrong: %+v", c)
	}
	if c.Recognition.PresenceTimeout != 90*time.Second || c.Recognition.Threshold != 0.45 || c.Events.Retention != 48*time.Hour {
		t.Errorf("durations/numbers wrong: %+v %+v", c.Recognition, c.Events)
	}
	if !c.MQTT.Discovery || !c.WebRTC.IncludeLoopback || len(c.WebRTC.ICEServers) != 1 || c.MQTT.Password != "" {
		t.Errorf("mqtt/webrtc wrong: %+v %+v", c.MQTT, c.WebRTC)
	}
	if len(c.Cameras) != 1 || c.Cameras[0] != (Camera{Name: "door", Source: "/dev/video0", Width: 640, Height: 480, FPS: 15}) {
		t.Errorf("cameras: %+v", c.Cameras)
	}
	// Defaults survive for keys the file does not mention.
	if c.Detector.MinScore != 0.5 || c.Events.Max != 10000 {
		t.Errorf("defaults lost: %+v %+v", c.Detector, c.Events)
	}
}

func TestLoadErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"typo", "detecter:\n  model: short\n", nil, "detecter"},
		{"nested typo", "mqtt:\n  brokr: tcp://x:1\n", nil, "brokr"},
		{"bad model", "detector:\n  model: tiny\n", nil, "detector.model"},
		{"int duration", "recognition:\n  presence_timeout: 300\n", nil, "presence_timeout"},
		{"bad duration", "recognition:\n  presence_timeout: soon\n", nil, "soon"},
		{"negative duration", "recognition:\n  presence_timeout: -1s\n", nil, "recognition.presence_timeout"},
		{"camera without source", "cameras:\n  - name: door\n", nil, "cameras[0].source"},
		{"duplicate camera", "cameras:\n  - {name: a, source: '0'}\n  - {name: a, source: '1'}\n", nil, "cameras[1].name"},
		{"camera name", "cameras:\n  - {name: 'a/b', source: '0'}\n", nil, "cameras[0].name"},
		{"broker scheme", "mqtt:\n  broker: http://x:1\n", nil, "mqtt.broker"},
		{"qos", "mqtt:\n  qos: 3\n", nil, "mqtt.qos"},
		{"base topic wildcard", "mqtt:\n  base_topic: a/#\n", nil, "mqtt.base_topic"},
		{"cert without key", "http:\n  cert_file: /x.pem\n", nil, "http.cert_file"},
		{"listen", "http:\n  listen: nope\n", nil, "http.listen"},
		{"ice", "webrtc:\n  ice_servers: [http://x]\n", nil, "webrtc.ice_servers[0]"},
		{"log level", "log:\n  level: loud\n", nil, "log.level"},
		{"two documents", "log:\n  level: info\n---\nlog:\n  level: debug\n", nil, "more than one"},
		{"env bool", "", map[string]string{"FACEGATE_MQTT_DISCOVERY": "maybe"}, "FACEGATE_MQTT_DISCOVERY"},
		{"env int", "", map[string]string{"FACEGATE_WEBRTC_MAX_PEERS": "many"}, "FACEGATE_WEBRTC_MAX_PEERS"},
		{"env duration", "", map[string]string{"FACEGATE_EVENTS_RETENTION": "30"}, "FACEGATE_EVENTS_RETENTION"},
		{"env validated", "", map[string]string{"FACEGATE_DETECTOR_MIN_SCORE": "2"}, "detector.min_score"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, "c.yaml", tc.yaml)
			_, err := Load(p, env(tc.env))
			if err == nil {
				t.Fatalf("no error, want one mentioning %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want not-exist", err)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mqtt_password"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "other"), []byte("pw2"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load("", env(map[string]string{"CREDENTIALS_DIRECTORY": dir}))
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.Password.Reveal() != "s3cret" {
		t.Errorf("credentials directory: got %q", c.MQTT.Password.Reveal())
	}
	p := writeFile(t, "c.yaml", "mqtt:\n  password_file: other\n")
	c, err = Load(p, env(map[string]string{"CREDENTIALS_DIRECTORY": dir}))
	if err != nil || c.MQTT.Password.Reveal() != "pw2" {
		t.Errorf("relative password_file: %q %v", c.MQTT.Password.Reveal(), err)
	}
	p = writeFile(t, "c.yaml", "mqtt:\n  password_file: /nonexistent/pw\n")
	if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), "mqtt.password_file") {
		t.Errorf("missing password file: %v", err)
	}
	// Without any source, no password and no error.
	c, err = Load("", env(map[string]string{"CREDENTIALS_DIRECTORY": t.TempDir()}))
	if err != nil || c.MQTT.Password != "" {
		t.Errorf("empty credentials dir: %q %v", c.MQTT.Password.Reveal(), err)
	}
}

func TestSecretRedacts(t *testing.T) {
	s := Secret("hunter2")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "pw", s, "mqtt", MQTT{Password: s})
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %#v %+v", s, s, s, MQTT{Password: s}), buf.String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal lost the value")
	}
}

func TestReferenceCoversEveryKey(t *testing.T) {
	ref := Reference()
	for _, key := range []string{"state_dir", "http.listen", "cameras", "cameras[].source", "detector.min_score",
		"recognition.presence_timeout", "mqtt.password_file", "mqtt.insecure_skip_verify", "webrtc.include_loopback",
		"models.recognizer", "log.level"} {
		if !strings.Contains(ref, "| `"+key+"` |") {
			t.Errorf("reference lacks %s", key)
		}
	}
	if strings.Contains(ref, "password |") || strings.Contains(ref, "mqtt.password`") {
		t.Error("reference documents the secret field")
	}
	if !strings.Contains(ref, "`FACEGATE_MQTT_BROKER`") || !strings.Contains(ref, "`5m0s`") {
		t.Errorf("reference lacks env names or defaults:\n%s", ref)
	}
	// Every key the reference names can be loaded back from a file.
	for _, line := range strings.Split(ref, "\n")[2:] {
		if line == "" || strings.Contains(line, "[]") {
			continue
		}
		if strings.Count(line, "|") < 6 {
			t.Errorf("malformed row %q", line)
		}
	}
}

func FuzzLoadYAML(f *testing.F) {
	f.Add([]byte("state_dir: /x\nhttp:\n  listen: ':1'\n"))
	f.Add([]byte("cameras:\n  - {name: a, source: '0', fps: 15}\n"))
	f.Add([]byte("recognition:\n  presence_timeout: 5m\n"))
	f.Add([]byte("mqtt: {broker: 'tcp://h:1', qos: 1}\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := defaults(func(string) string { return "" })
		if err := decodeYAML(data, &c); err != nil {
			return
		}
		if err := c.Validate(); err != nil && err.Error() == "" {
			t.Fatal("empty validation message")
		}
	})
}

func TestAdminPassword(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admin_password"), []byte("from-creds\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("from-file"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
		err  bool
	}{
		{"none", nil, "", false},
		{"env", map[string]string{"FACEGATE_ADMIN_PASSWORD": "from-env", "FACEGATE_ADMIN_PASSWORD_FILE": file}, "from-env", false},
		{"file", map[string]string{"FACEGATE_ADMIN_PASSWORD_FILE": file}, "from-file", false},
		{"relative in creds", map[string]string{"FACEGATE_ADMIN_PASSWORD_FILE": "pw", "CREDENTIALS_DIRECTORY": dir}, "from-file", false},
		{"creds default", map[string]string{"CREDENTIALS_DIRECTORY": dir}, "from-creds", false},
		{"missing file", map[string]string{"FACEGATE_ADMIN_PASSWORD_FILE": filepath.Join(dir, "nope")}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := AdminPassword(env(tc.env))
			if (err != nil) != tc.err || s.Reveal() != tc.want {
				t.Errorf("got %q, %v", s.Reveal(), err)
			}
			if err != nil && !strings.Contains(err.Error(), "FACEGATE_ADMIN_PASSWORD_FILE") {
				t.Errorf("error does not name the variable: %v", err)
			}
		})
	}
}
