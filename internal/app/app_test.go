package app

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"facegate/internal/config"
	"facegate/internal/testenv"
)

func testdata(t *testing.T) string {
	return testenv.Testdata(t)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestDaemonServesAndStops runs the whole daemon on a looping video with an
// open event stream, logs in, sees the pipeline work, and checks that
// cancelation (what SIGTERM does) stops everything within 5 s.
func TestDaemonServesAndStops(t *testing.T) {
	td := testdata(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	addr := freeAddr(t)
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.HTTP.Listen = addr
	cfg.Cameras = []config.Camera{{Name: "door", Source: filepath.Join(td, "video", "mark_zuckerberg_640x480_15fps_5s.mjpeg"), Loop: true}}
	env := map[string]string{"FACEGATE_ADMIN_PASSWORD": "correct horse battery"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Config: cfg, Version: "test", Getenv: func(k string) string { return env[k] }})
	}()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	base := "https://" + addr
	var up bool
	for i := 0; i < 300 && !up; i++ {
		resp, err := c.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
		}
		if !up {
			select {
			case err := <-done:
				t.Fatalf("daemon exited: %v", err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if !up {
		t.Fatal("daemon never answered /healthz")
	}
	// Signalling is behind the login: an anonymous offer is refused.
	anon := &http.Client{Timeout: 10 * time.Second, Transport: c.Transport}
	offer, _ := http.NewRequest("POST", base+"/api/rtc/offer", strings.NewReader(`{"kind":"camera","sdp":"v=0"}`))
	offer.Header.Set("Content-Type", "application/json")
	offer.Header.Set("Origin", base)
	if resp, err := anon.Do(offer); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous offer: %s, want 401", resp.Status)
		}
	}
	req, _ := http.NewRequest("POST", base+"/api/login", strings.NewReader(`{"username":"admin","password":"correct horse battery"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("login: %s", resp.Status)
	}
	// An open page: the event stream stays connected during shutdown.
	streamReq, _ := http.NewRequest("GET", base+"/api/stream", nil)
	stream, err := c.Do(streamReq)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stream.Body).ReadString('\n'); err != nil || line == "" {
		t.Fatalf("event stream: %q %v", line, err)
	}
	// Logged in, a malformed offer gets a clear 400.
	bad, _ := http.NewRequest("POST", base+"/api/rtc/offer", strings.NewReader(`{"kind":"camera","sdp":"hello"}`))
	bad.Header.Set("Content-Type", "application/json")
	bad.Header.Set("Origin", base)
	if resp, err := c.Do(bad); err != nil {
		t.Fatal(err)
	} else {
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Error == "" {
			t.Errorf("malformed offer: %s %q, want 400 with a message", resp.Status, body.Error)
		}
	}
	// The pipeline is busy: frames are being processed.
	var cams []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	}
	for i := 0; i < 100; i++ {
		resp, err := c.Get(base + "/api/cameras")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&cams)
		resp.Body.Close()
		if len(cams) == 1 && cams[0].State == "running" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(cams) != 1 || cams[0].State != "running" {
		t.Fatalf("camera not running: %+v", cams)
	}

	// A snapshot after a quiet spell: the tap copies frames only while
	// someone looks, so the first request waits for a fresh frame.
	snap, err := c.Get(base + "/api/cameras/door/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	var head [2]byte
	_, _ = io.ReadFull(snap.Body, head[:])
	snap.Body.Close()
	if snap.StatusCode != http.StatusOK || head != [2]byte{0xFF, 0xD8} {
		t.Errorf("snapshot: %s, starts % x; want 200 and a JPEG", snap.Status, head)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		stream.Body.Close()
		c.CloseIdleConnections()
	case <-time.After(5 * time.Second):
		t.Fatal("the daemon did not stop within 5 s of SIGTERM")
	}
}
