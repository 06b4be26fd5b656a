// Package board talks to the machine facegate runs on: the systemd notify
// protocol (readiness, status, watchdog), waiting for a plausible clock on
// boards without a real-time clock, and board facts (model, temperature).
// It decides nothing: internal/app says when the service is ready, healthy
// or stopping. Paths under /run, /sys and /proc come from Paths, so tests
// use fixture trees.
//
// Imports: the standard library only.
package board

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Notifier sends sd_notify(3) messages to systemd's notify socket. The zero
// Notifier (no socket: not started by systemd with Type=notify) does
// nothing, so callers never need to check.
type Notifier struct {
	socket string // path, or "@name" for the abstract namespace

	mu   sync.Mutex
	conn *net.UnixConn
}

// NewNotifier returns a Notifier for the given socket ("" disables it).
func NewNotifier(socket string) *Notifier { return &Notifier{socket: socket} }

// NotifierFromEnv returns a Notifier for $NOTIFY_SOCKET (disabled when it
// is unset).
func NotifierFromEnv() *Notifier { return NewNotifier(os.Getenv("NOTIFY_SOCKET")) }

// Enabled reports whether messages go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Ready tells systemd the service is up: call it after the listeners are
// bound and the models are loaded.
func (n *Notifier) Ready() error { return n.Notify("READY=1") }

// Stopping tells systemd the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Watchdog pets systemd's watchdog; Watchdog.Run decides when.
func (n *Notifier) Watchdog() error { return n.Notify("WATCHDOG=1") }

// Status sets the one-line status `systemctl status` shows. Line breaks are
// replaced, since a newline would start a new assignment.
func (n *Notifier) Status(s string) error {
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	return n.Notify("STATUS=" + s)
}

// Notify sends assignments ("KEY=value"), one datagram for all of them.
func (n *Notifier) Notify(assignments ...string) error {
	if !n.Enabled() {
		return nil
	}
	for _, a := range assignments {
		if !strings.Contains(a, "=") || strings.Contains(a, "\n") {
			return fmt.Errorf("sd_notify: bad assignment %q", a)
		}
	}
	msg := []byte(strings.Join(assignments, "\n"))
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
		if err != nil {
			return fmt.Errorf("sd_notify: %w", err)
		}
		n.conn = c
	}
	// systemd reads promptly; a deadline keeps a wedged socket from
	// stalling the caller (the watchdog ticker, shutdown).
	_ = n.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := n.conn.Write(msg); err != nil {
		// Drop the connection: the next message redials (systemd restarted).
		_ = n.conn.Close()
		n.conn = nil
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// Close releases the socket. Idempotent.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn != nil {
		err := n.conn.Close()
		n.conn = nil
		return err
	}
	return nil
}

// ErrNoWatchdog means systemd did not ask this process for watchdog pings.
var ErrNoWatchdog = errors.New("no watchdog requested")

// WatchdogInterval returns how often to pet the watchdog: half the period
// systemd asked for through WATCHDOG_USEC (WatchdogSec=), so one late tick
// does not get the service killed. WATCHDOG_PID, when set, must be this
// process. ErrNoWatchdog when systemd asked for nothing.
func WatchdogInterval(getenv func(string) string) (time.Duration, error) {
	usec := getenv("WATCHDOG_USEC")
	if usec == "" {
		return 0, ErrNoWatchdog
	}
	if pid := getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, ErrNoWatchdog // meant for another process (e.g. a wrapper)
	}
	v, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("bad WATCHDOG_USEC %q", usec)
	}
	return time.Duration(v) * time.Microsecond / 2, nil
}
