package app

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/text/unicode/norm"

	"facegate/internal/config"
)

// startMosquitto runs a real broker on a free loopback port for one test.
func startMosquitto(t *testing.T) string {
	t.Helper()
	const bin = "/usr/sbin/mosquitto"
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("mosquitto is not installed (%s): apt-get install mosquitto", bin)
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	conf := []string{"listener " + port + " 127.0.0.1", "allow_anonymous true", "persistence false"}
	if u, err := user.Current(); err == nil && os.Getuid() == 0 {
		conf = append(conf, "user "+u.Username) // else it drops to "mosquitto"
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ { // until it listens
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("mosquitto does not listen on %s: %v", addr, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	return "tcp://" + addr
}

// TestDaemonOverMQTT drives the whole daemon from MQTT: register a person
// with a photo (the name typed decomposed, as some keyboards send Hangul),
// see them recognized on the camera's video, home, then away once the
// camera is gone, and find the name byte-identical (NFC) in the web API.
func TestDaemonOverMQTT(t *testing.T) {
	td := testdata(t)
	brokerURL := startMosquitto(t)
	addr := freeAddr(t)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.HTTP.Listen = addr
	cfg.Recognition.PresenceTimeout = 2 * time.Second
	cfg.MQTT.Broker = brokerURL
	cfg.MQTT.BaseTopic = "facegate/test"
	door := config.Camera{Name: "door", Source: filepath.Join(td, "video", "mark_zuckerberg_640x480_15fps_5s.mjpeg"), Loop: true}
	cfg.Cameras = []config.Camera{door}
	env := map[string]string{"FACEGATE_ADMIN_PASSWORD": "correct horse battery"}
	reload := make(chan config.Config)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Version: "test", Getenv: func(k string) string { return env[k] }, Reload: reload})
	}()
	stopped := false
	defer func() {
		cancel()
		if stopped {
			return
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("daemon did not stop")
		}
	}()

	msgs := make(chan paho.Message, 4096)
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID("test-client")
	cl := paho.NewClient(opts)
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer cl.Disconnect(100)
	if tok := cl.Subscribe("facegate/test/#", 1, func(_ paho.Client, m paho.Message) { msgs <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	wait := func(what string, ok func(topic string, payload []byte) bool) []byte {
		t.Helper()
		deadline := time.After(60 * time.Second) // a broken test ends; not a speed check
		for {
			select {
			case m := <-msgs:
				if ok(m.Topic(), m.Payload()) {
					return m.Payload()
				}
			case err := <-done:
				t.Fatalf("daemon exited while waiting for %s: %v", what, err)
			case <-deadline:
				t.Fatalf("no %s", what)
			}
		}
	}
	wait("online", func(topic string, p []byte) bool { return topic == "facegate/test/status" && string(p) == "online" })

	photo, err := os.ReadFile(filepath.Join(td, "faces", "Mark_Zuckerberg", "2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	nfc := "김민수"
	typed := norm.NFD.String(nfc) // decomposed jamo
	req, _ := json.Marshal(map[string]string{"transaction": "t1", "name": typed, "image": base64.StdEncoding.EncodeToString(photo)})
	cl.Publish("facegate/test/request/register", 1, false, req)
	var resp struct {
		Transaction string `json:"transaction"`
		Status      string `json:"status"`
		Error       string `json:"error"`
		Data        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"data"`
	}
	_ = json.Unmarshal(wait("register response", func(topic string, _ []byte) bool { return topic == "facegate/test/response/register" }), &resp)
	if resp.Status != "ok" || resp.Transaction != "t1" || resp.Data.Name != nfc {
		t.Fatalf("register: %+v", resp)
	}
	id := resp.Data.ID

	var ev struct {
		Type     string  `json:"type"`
		Name     *string `json:"name"`
		PersonID *string `json:"person_id"`
		Camera   string  `json:"camera"`
	}
	_ = json.Unmarshal(wait("recognized event", func(topic string, p []byte) bool {
		return topic == "facegate/test/event" && strings.Contains(string(p), `"recognized"`)
	}), &ev)
	if ev.Name == nil || *ev.Name != nfc || ev.PersonID == nil || *ev.PersonID != id || ev.Camera != "door" {
		t.Fatalf("recognized event: %+v", ev)
	}
	state := func(want string) func(string, []byte) bool {
		return func(topic string, p []byte) bool {
			var s struct{ State, Name string }
			return topic == "facegate/test/person/"+id && json.Unmarshal(p, &s) == nil && s.State == want && s.Name == nfc
		}
	}
	wait("home", state("home"))

	// The camera goes away (SIGHUP with it removed): two seconds later the
	// person is away.
	cfg2 := cfg
	cfg2.Cameras = nil
	select {
	case reload <- cfg2:
	case <-time.After(10 * time.Second):
		t.Fatal("reload not taken")
	}
	wait("away", state("away"))

	// The web API has the same bytes.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer c.CloseIdleConnections()
	base := "https://" + addr
	login, _ := http.NewRequest("POST", base+"/api/login", strings.NewReader(`{"username":"admin","password":"correct horse battery"}`))
	login.Header.Set("Content-Type", "application/json")
	login.Header.Set("Origin", base)
	r, err := c.Do(login)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	r, err = c.Get(base + "/api/people")
	if err != nil {
		t.Fatal(err)
	}
	var people []struct{ ID, Name string }
	_ = json.NewDecoder(r.Body).Decode(&people)
	r.Body.Close()
	if len(people) != 1 || people[0].ID != id || people[0].Name != nfc {
		t.Fatalf("web people: %+v", people)
	}
	if fmt.Sprintf("%x", people[0].Name) != fmt.Sprintf("%x", nfc) {
		t.Errorf("name bytes differ")
	}

	// SIGTERM: the daemon says offline on its way out.
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop")
	}
	stopped = true
	for offline := false; !offline; {
		select {
		case m := <-msgs:
			offline = m.Topic() == "facegate/test/status" && string(m.Payload()) == "offline"
		case <-time.After(30 * time.Second):
			t.Fatal("no offline after the daemon stopped")
		}
	}
}
