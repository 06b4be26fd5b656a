package app

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"facegate/device/board"
)

// startNotify sends STATUS= lines and, when systemd asks for a watchdog,
// WATCHDOG=1 only while the frame loops and the HTTPS server are alive.
func (d *daemon) startNotify(ctx context.Context) {
	n := d.opt.Notifier
	if !n.Enabled() {
		return
	}
	d.goLoop(ctx, 10*time.Second, func(context.Context) { _ = n.Status(d.statusLine()) })
	interval, err := board.WatchdogInterval(d.opt.Getenv)
	if err != nil || interval <= 0 {
		return
	}
	h := &health{d: d}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		_ = board.Watchdog{Notifier: n, Interval: interval, Healthy: h.ok, Logger: d.log}.Run(ctx)
	}()
}

// health tells a stuck daemon from a busy one.
type health struct {
	d  *daemon
	mu sync.Mutex
	// per camera: frames captured and processed at the last check
	captured, processed map[string]uint64
}

// ok fails when a camera delivers frames that its pipeline no longer takes
// (a stuck frame loop), or when the HTTPS server does not answer /healthz.
func (h *health) ok() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.captured == nil {
		h.captured, h.processed = map[string]uint64{}, map[string]uint64{}
	}
	alive := true
	for _, e := range h.d.cams.list() {
		cam := e.tap.cam.Load()
		if e.kind != "device" || cam == nil {
			continue
		}
		c, p := cam.Stats().Frames, e.runner.Stats().Frames
		if pc, seen := h.captured[e.name]; seen && c > pc && p == h.processed[e.name] {
			h.d.log.Error("frame loop stuck: frames arrive but are not processed", "camera", e.name)
			alive = false
		}
		h.captured[e.name], h.processed[e.name] = c, p
	}
	return alive && h.httpAlive()
}

func (h *health) httpAlive() bool {
	addr := h.d.web.Addr()
	if addr == nil {
		return false
	}
	host := addr.String()
	if a, ok := addr.(*net.TCPAddr); ok && (a.IP == nil || a.IP.IsUnspecified()) {
		host = net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// Our own generated certificate, on loopback: what is checked is
		// that the server answers, not who it is.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}}
	defer c.CloseIdleConnections()
	resp, err := c.Get("https://" + host + "/healthz")
	if err != nil {
		h.d.log.Error("https server does not answer", "err", err)
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// deviceID is a stable short id of this machine: MQTT topics and Home
// Assistant's unique ids derive from it, so it must survive restarts.
func deviceID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			if s := strings.TrimSpace(string(b)); s != "" {
				h := sha256.Sum256([]byte("facegate:" + s))
				return hex.EncodeToString(h[:])[:12]
			}
		}
	}
	host, _ := os.Hostname()
	h := sha256.Sum256([]byte("facegate:" + host))
	return hex.EncodeToString(h[:])[:12]
}
