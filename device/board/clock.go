package board

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Paths are the roots of the system trees board reads; tests point them
// at fixtures.
type Paths struct {
	Run  string // default /run
	Sys  string // default /sys
	Proc string // default /proc
}

func (p Paths) withDefaults() Paths {
	if p.Run == "" {
		p.Run = "/run"
	}
	if p.Sys == "" {
		p.Sys = "/sys"
	}
	if p.Proc == "" {
		p.Proc = "/proc"
	}
	return p
}

// MinPlausible is a time before which the clock is surely wrong: a board
// without a real-time clock boots at its image's build time or at 1970.
var MinPlausible = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// ErrClockTimeout means the clock did not become trustworthy in time.
var ErrClockTimeout = errors.New("clock not synchronised")

// Clock says how to wait for the clock before anything that needs the real
// time: TLS to a broker, certificate issuance, event timestamps.
type Clock struct {
	Paths       Paths
	MinTime     time.Time        // default MinPlausible
	RequireSync bool             // wait for NTP sync even when the time looks plausible
	Timeout     time.Duration    // default 2 minutes
	Poll        time.Duration    // default 1 second
	Now         func() time.Time // default time.Now
}

// Synchronised reports whether systemd-timesyncd has synchronised the clock
// since boot (it creates /run/systemd/timesync/synchronized).
func (c Clock) Synchronised() bool {
	p := c.Paths.withDefaults()
	_, err := os.Stat(filepath.Join(p.Run, "systemd", "timesync", "synchronized"))
	return err == nil
}

// Plausible reports whether the clock is past MinTime.
func (c Clock) Plausible() bool {
	now, minT := time.Now, c.MinTime
	if c.Now != nil {
		now = c.Now
	}
	if minT.IsZero() {
		minT = MinPlausible
	}
	return !now().Before(minT)
}

// Wait returns nil once the clock is synchronised, or plausible when sync
// is not required; ErrClockTimeout after Timeout; ctx.Err() if ctx ends.
func (c Clock) Wait(ctx context.Context) error {
	timeout, poll := c.Timeout, c.Poll
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	if poll <= 0 {
		poll = time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if c.Synchronised() || (!c.RequireSync && c.Plausible()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%w after %v", ErrClockTimeout, timeout)
		case <-tick.C:
		}
	}
}
