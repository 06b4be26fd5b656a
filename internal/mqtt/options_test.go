package mqtt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"facegate/internal/config"
)

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		want string // substring of the error; "" for success
	}{
		{"disabled", Options{DeviceID: "d"}, ErrDisabled.Error()},
		{"tcp", Options{Broker: "tcp://h:1883", DeviceID: "d"}, ""},
		{"ssl", Options{Broker: "ssl://h:8883", DeviceID: "d"}, ""},
		{"ws", Options{Broker: "ws://h:9001/mqtt", DeviceID: "d"}, ""},
		{"wss", Options{Broker: "wss://h/mqtt", DeviceID: "d"}, ""},
		{"bad scheme", Options{Broker: "http://h", DeviceID: "d"}, "scheme must be"},
		{"no host", Options{Broker: "tcp://", DeviceID: "d"}, "no host"},
		{"credentials in URL", Options{Broker: "tcp://u:hunter2@h:1883", DeviceID: "d"}, "no credentials in the URL"},
		{"no device", Options{Broker: "tcp://h:1"}, "device id is empty"},
		{"bad device", Options{Broker: "tcp://h:1", DeviceID: "a/b"}, "only letters"},
		{"wildcard base", Options{Broker: "tcp://h:1", DeviceID: "d", BaseTopic: "a/#"}, "wildcards"},
		{"slash base", Options{Broker: "tcp://h:1", DeviceID: "d", BaseTopic: "a/"}, "trailing"},
		{"qos", Options{Broker: "tcp://h:1", DeviceID: "d", QoS: 3}, "qos 3"},
		{"cert without key", Options{Broker: "ssl://h:1", DeviceID: "d", CertFile: "c.pem"}, "go together"},
		{"missing CA file", Options{Broker: "ssl://h:1", DeviceID: "d", CAFile: "/nonexistent/ca.pem"}, "ca_file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.o, &fakeGallery{}, slog.New(slog.DiscardHandler))
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, err := New(Options{}, &fakeGallery{}, nil); !errors.Is(err, ErrDisabled) {
		t.Fatalf("empty broker: %v", err)
	}
}

func TestDefaults(t *testing.T) {
	o, err := Options{Broker: "tcp://h:1", DeviceID: "pi4"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.BaseTopic != "facegate/pi4" || o.ClientID != "facegate-pi4" || o.Keepalive != 30*time.Second || o.FontPath != DefaultFontPath {
		t.Fatalf("defaults %+v", o)
	}
	tp := newTopics(o)
	if tp.discovery != "homeassistant/device/pi4/config" || tp.response("list") != "facegate/pi4/response/list" || tp.person("x") != "facegate/pi4/person/x" {
		t.Fatalf("topics %+v", tp)
	}
}

// TestFromConfig maps the daemon's configuration, password included, and
// the password never shows in logs.
func TestFromConfig(t *testing.T) {
	c := config.Default().MQTT
	c.Broker, c.Username, c.Password = "tcp://h:1883", "u", config.Secret("hunter2")
	o := FromConfig(c, "pi4", "1.0")
	if o.Password != "hunter2" || o.QoS != 1 || !o.Discovery || o.Keepalive != 30*time.Second || o.DeviceID != "pi4" {
		t.Fatalf("options %+v", o)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("mqtt", "options", o)
	if strings.Contains(buf.String(), "hunter2") || !strings.Contains(buf.String(), "[redacted]") {
		t.Fatalf("log shows %s", buf.String())
	}
}

// FuzzRequest: whatever arrives on a request topic, the bridge answers
// without panicking, and the gallery changes only when the answer is ok.
func FuzzRequest(f *testing.F) {
	for _, s := range []struct{ op, payload string }{
		{"register", `{"transaction":1,"name":"김민수","image":"iVBORw0KGgo="}`},
		{"register", `{"name":"x","from":"camera","camera":"door","timeout":5}`},
		{"delete", `{"person_id":"p0001"}`},
		{"delete", `{"name":"Jane"}`},
		{"rename", `{"person_id":"p0001","name":"Joan"}`},
		{"list", ``},
		{"health", `{}`},
		{"ignore", `null`},
		{"nope", `{"transaction":"x"}`},
		{"register", `{"name":`},
		{"delete", `[]`},
	} {
		f.Add(s.op, []byte(s.payload))
	}
	b, err := New(Options{Broker: "tcp://127.0.0.1:1", DeviceID: "fuzz"}, &fakeGallery{}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op string, payload []byte) {
		g := &fakeGallery{}
		g.add("Jane")
		b.gallery = g
		_, before := g.snapshot()
		data, err := b.handle(context.Background(), request{op: op, payload: payload})
		_, after := g.snapshot()
		if err != nil && after != before {
			t.Fatalf("failed request %q %q changed the gallery", op, payload)
		}
		if err == nil {
			if _, jerr := json.Marshal(data); jerr != nil {
				t.Fatalf("ok answer does not marshal: %v", jerr)
			}
		}
		_ = mustJSON(response{Transaction: transactionOf(payload), Status: "ok", Data: data})
	})
}
