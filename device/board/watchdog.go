package board

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Watchdog pets systemd's watchdog only while the service is healthy: a
// stuck frame loop or HTTP server makes Healthy fail, the pings stop, and
// systemd restarts the service after WatchdogSec.
type Watchdog struct {
	Notifier *Notifier
	Interval time.Duration // between checks; half of WatchdogSec is usual
	Healthy  func() bool   // nil: always healthy
	Logger   *slog.Logger  // default slog.Default()
}

// Run checks health every Interval and sends WATCHDOG=1 after each passing
// check, until ctx ends. It logs only when health changes.
func (w Watchdog) Run(ctx context.Context) error {
	if w.Interval <= 0 {
		return errors.New("watchdog: interval must be positive")
	}
	lg := w.Logger
	if lg == nil {
		lg = slog.Default()
	}
	lg = lg.With("component", "watchdog")
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	healthy := true
	sendFailed := false
	for {
		ok := w.Healthy == nil || w.Healthy()
		switch {
		case ok && !healthy:
			lg.Info("health checks pass again; watchdog pings resumed")
		case !ok && healthy:
			lg.Error("health check failing; withholding watchdog pings so systemd restarts the service")
		}
		healthy = ok
		if ok {
			err := w.Notifier.Watchdog()
			if (err != nil) != sendFailed {
				sendFailed = err != nil
				if sendFailed {
					lg.Warn("watchdog ping failed", "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
