package board

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// fakeSystemd is a notify socket like systemd's: it collects datagrams.
type fakeSystemd struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSystemd{path: path, conn: conn, msgs: make(chan string, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			f.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return f
}

// next returns the next message, failing after a generous wait.
func (f *fakeSystemd) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-f.msgs:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no notify message arrived")
		return ""
	}
}

// drain empties the queue and returns how many messages were waiting.
func (f *fakeSystemd) drain() int {
	n := 0
	for {
		select {
		case <-f.msgs:
			n++
		default:
			return n
		}
	}
}

func TestReadyAfterBindThenStatusAndStopping(t *testing.T) {
	sd := newFakeSystemd(t)
	n := NewNotifier(sd.path)
	defer n.Close()

	// The app's order: bind, then READY. When systemd sees READY=1 the
	// listener must already accept connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) })}
	go srv.Serve(ln)
	defer srv.Close()
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if m := sd.next(t); m != "READY=1" {
		t.Fatalf("got %q, want READY=1", m)
	}
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatalf("READY was sent but the listener does not answer: %v", err)
	}
	resp.Body.Close()

	if err := n.Status("cameras: door ok\npeers: 0"); err != nil {
		t.Fatal(err)
	}
	if m := sd.next(t); m != "STATUS=cameras: door ok peers: 0" {
		t.Fatalf("got %q", m)
	}
	if err := n.Stopping(); err != nil {
		t.Fatal(err)
	}
	if m := sd.next(t); m != "STOPPING=1" {
		t.Fatalf("got %q", m)
	}
	if err := n.Notify("READY=1", "STATUS=up"); err != nil {
		t.Fatal(err)
	}
	if m := sd.next(t); m != "READY=1\nSTATUS=up" {
		t.Fatalf("got %q", m)
	}
	if err := n.Notify("garbage"); err == nil {
		t.Fatal("an assignment without = was sent")
	}
}

func TestDisabledNotifierIsANoOp(t *testing.T) {
	for _, n := range []*Notifier{nil, NewNotifier("")} {
		if n.Enabled() {
			t.Fatal("enabled without a socket")
		}
		if err := n.Ready(); err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNotifierFromEnv(t *testing.T) {
	sd := newFakeSystemd(t)
	t.Setenv("NOTIFY_SOCKET", sd.path)
	n := NotifierFromEnv()
	defer n.Close()
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if m := sd.next(t); m != "READY=1" {
		t.Fatalf("got %q", m)
	}
}

func TestNotifyToAMissingSocketFails(t *testing.T) {
	n := NewNotifier(filepath.Join(t.TempDir(), "nobody"))
	if err := n.Ready(); err == nil {
		t.Fatal("no error for a socket nobody listens on")
	}
}

func TestWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	sd := newFakeSystemd(t)
	n := NewNotifier(sd.path)
	defer n.Close()
	var healthy atomic.Bool
	var checks atomic.Int64
	healthy.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Watchdog{Notifier: n, Interval: 2 * time.Millisecond, Logger: quiet, Healthy: func() bool {
			checks.Add(1)
			return healthy.Load()
		}}.Run(ctx)
	}()
	for range 3 {
		if m := sd.next(t); m != "WATCHDOG=1" {
			t.Fatalf("got %q while healthy", m)
		}
	}

	// The frame loop gets stuck: health fails.
	healthy.Store(false)
	at := checks.Load()
	waitChecks := func(k int64) {
		for checks.Load() < at+k {
			time.Sleep(time.Millisecond)
		}
	}
	// After two checks that saw "unhealthy", every ping sent after a
	// healthy check has already arrived.
	waitChecks(2)
	time.Sleep(10 * time.Millisecond) // let the datagram reach the reader
	sd.drain()
	at = checks.Load()
	waitChecks(10)
	if k := sd.drain(); k != 0 {
		t.Fatalf("%d watchdog pings while unhealthy", k)
	}

	healthy.Store(true)
	if m := sd.next(t); m != "WATCHDOG=1" {
		t.Fatalf("got %q after recovery", m)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWatchdogInterval(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	pid := strconv.Itoa(os.Getpid())
	d, err := WatchdogInterval(env(map[string]string{"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": pid}))
	if err != nil || d != 10*time.Second { // half of WatchdogSec=20
		t.Fatalf("got %v, %v", d, err)
	}
	if _, err := WatchdogInterval(env(nil)); !errors.Is(err, ErrNoWatchdog) {
		t.Fatalf("unset: %v", err)
	}
	if _, err := WatchdogInterval(env(map[string]string{"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})); !errors.Is(err, ErrNoWatchdog) {
		t.Fatalf("other pid: %v", err)
	}
	for _, bad := range []string{"abc", "0", "-5"} {
		if _, err := WatchdogInterval(env(map[string]string{"WATCHDOG_USEC": bad})); err == nil || errors.Is(err, ErrNoWatchdog) {
			t.Fatalf("WATCHDOG_USEC=%q: %v", bad, err)
		}
	}
	if err := (Watchdog{}).Run(context.Background()); err == nil {
		t.Fatal("zero interval accepted")
	}
}

func TestClockWait(t *testing.T) {
	run := t.TempDir()
	past := func() time.Time { return time.Date(1970, 1, 1, 0, 0, 42, 0, time.UTC) }
	future := func() time.Time { return MinPlausible.Add(time.Hour) }

	// A plausible clock is enough unless sync is required.
	if err := (Clock{Paths: Paths{Run: run}, Now: future}).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A 1970 clock without sync times out.
	err := Clock{Paths: Paths{Run: run}, Now: past, Timeout: 30 * time.Millisecond, Poll: 5 * time.Millisecond}.Wait(context.Background())
	if !errors.Is(err, ErrClockTimeout) {
		t.Fatalf("got %v, want timeout", err)
	}
	// Requiring sync ignores a plausible clock...
	c := Clock{Paths: Paths{Run: run}, Now: future, RequireSync: true, Timeout: time.Minute, Poll: 2 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- c.Wait(context.Background()) }()
	select {
	case err := <-done:
		t.Fatalf("returned %v before timesyncd synchronised", err)
	case <-time.After(20 * time.Millisecond):
	}
	// ...until timesyncd's flag appears.
	flag := filepath.Join(run, "systemd", "timesync", "synchronized")
	if err := os.MkdirAll(filepath.Dir(flag), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A cancelled context wins.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Clock{Paths: Paths{Run: t.TempDir()}, Now: past}).Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestReadFacts(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := Paths{Sys: filepath.Join(root, "sys"), Proc: filepath.Join(root, "proc")}
	if f := ReadFacts(p); f != (Facts{}) {
		t.Fatalf("empty tree gave %+v", f)
	}
	write("proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
	write("sys/class/thermal/thermal_zone0/temp", "48312\n")
	f := ReadFacts(p)
	if f.Model != "Raspberry Pi 5 Model B Rev 1.0" || f.TempC != 48.312 {
		t.Fatalf("got %+v", f)
	}
	write("sys/class/thermal/thermal_zone0/temp", "hot\n")
	if f := ReadFacts(p); f.TempC != 0 {
		t.Fatalf("garbage temperature parsed as %v", f.TempC)
	}
}
