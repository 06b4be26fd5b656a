// Package app is the only place that knows every piece of facegate: it
// builds the daemon from its configuration, starts the pieces in order
// (store, models, gallery, cameras, listeners, MQTT), reports readiness to
// systemd, and stops everything in reverse order. Only cmd/facegate
// imports it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"facegate/device/board"
	"facegate/internal/config"
	"facegate/internal/mqtt"
	"facegate/internal/rtc"
	"facegate/internal/store"
	"facegate/internal/web"
	"facegate/pipeline"
	"facegate/pipeline/annotate"
	"facegate/pipeline/gallery"
)

// Options are what Run needs besides the configuration.
type Options struct {
	Config   config.Config
	Version  string
	Log      *slog.Logger
	Getenv   func(string) string // os.Getenv in production
	Notifier *board.Notifier     // nil: systemd notification off
	// StopTimeout bounds the orderly shutdown (default 10 s, below the
	// unit's TimeoutStopSec).
	StopTimeout time.Duration
	// Reload delivers a new configuration (SIGHUP re-read the file); the
	// parts that are safe to change while running are applied.
	Reload <-chan config.Config
	// Level is the log level to change on reload (nil: not changeable).
	Level *slog.LevelVar
}

// daemon holds the running pieces. Fields are set during start and read
// after; the mutable parts guard themselves.
type daemon struct {
	opt Options
	cfg config.Config
	log *slog.Logger

	store    *store.Store
	vision   *gallery.ModelVision
	gallery  *gallery.Service
	events   *pipeline.Hub[pipeline.Event]
	results  *pipeline.Hub[pipeline.Result]
	presence *pipeline.Presence
	cams     *cameras
	web      *web.Server
	rtc      *rtc.Manager
	mqtt     *mqtt.Bridge
	settings *settingsStore
	auth     *authStore

	mqttStop    func() // closes the MQTT bridge; nil without one
	lastUnknown lastUnknown
	painter     painter // camera snapshots for the page
	models      loaded  // model files, loaded once and shared

	wg sync.WaitGroup // background goroutines started by start
}

// Run starts the daemon and blocks until ctx ends (SIGTERM), then stops it
// in reverse order. Cancelation is not an error.
func Run(ctx context.Context, opt Options) error {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.StopTimeout <= 0 {
		opt.StopTimeout = 10 * time.Second
	}
	d := &daemon{opt: opt, cfg: opt.Config, log: opt.Log}
	d.painter.p = annotate.NewPainter(annotate.DefaultFontPath, opt.Log)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var closers []func(context.Context)
	stop := func() {
		_ = opt.Notifier.Stopping()
		stopCtx, done := context.WithTimeout(context.Background(), opt.StopTimeout)
		defer done()
		cancel()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i](stopCtx)
		}
		d.wg.Wait()
	}
	err := d.start(runCtx, func(c func(context.Context)) { closers = append(closers, c) })
	if err != nil {
		stop()
		return err
	}
	if err := opt.Notifier.Ready(); err != nil {
		d.log.Warn("systemd notification", "err", err)
	}
	d.log.Info("facegate ready", "https", d.web.Addr().String(), "cameras", len(d.cfg.Cameras),
		"mqtt", d.cfg.MQTT.Broker != "", "version", opt.Version)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case cfg := <-opt.Reload:
			d.reload(cfg)
		}
	}
	d.log.Info("stopping")
	stop()
	return nil
}

// start builds and starts every piece; add registers a closer run in
// reverse order at shutdown.
func (d *daemon) start(ctx context.Context, add func(func(context.Context))) error {
	cfg := d.cfg
	if err := cfg.Validate(); err != nil {
		return err
	}
	// The Pi has no clock: wait (bounded) so certificates and event times
	// are not from 1970.
	clockCtx, clockDone := context.WithTimeout(ctx, 30*time.Second)
	if err := (board.Clock{}).Wait(clockCtx); err != nil && ctx.Err() == nil {
		d.log.Warn("the system clock may be wrong; continuing", "err", err)
	}
	clockDone()

	st, err := store.OpenDir(cfg.StateDir, store.Options{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	d.store = st
	add(func(context.Context) {
		if err := st.Close(); err != nil {
			d.log.Warn("closing the store", "err", err)
		}
	})

	d.settings = newSettingsStore(d)
	set, err := d.settings.load()
	if err != nil {
		return err
	}

	d.models.cfg = cfg
	vis, err := d.models.vision()
	if err != nil {
		return err
	}
	d.vision = vis
	// Added early, so it runs late: after every camera has stopped using
	// the shared embedder.
	add(func(context.Context) { vis.Det.Close(); d.models.close() })

	gopt := gallery.Options{Logger: d.log.With("component", "gallery")}
	gopt.Policy = policyFor(cfg, set)
	svc, err := gallery.New(st, nil, vis, gopt)
	if err != nil {
		return err
	}
	d.gallery = svc

	d.events = pipeline.NewHub[pipeline.Event](d.log.With("component", "events"))
	d.results = pipeline.NewHub[pipeline.Result](d.log.With("component", "results"))
	// Hubs close after the cameras stopped (closers run in reverse), then
	// MQTT says offline: the last events still go out (DESIGN.md,
	// shutdown order), and the store closes last of all.
	add(func(context.Context) {
		d.events.Close()
		d.results.Close()
		if d.mqttStop != nil {
			d.mqttStop()
		}
	})
	d.presence = pipeline.NewPresence(time.Duration(set.PresenceTimeout))
	d.goLoop(ctx, time.Second, func(context.Context) { d.presence.Sweep(time.Now(), d.events) })

	// Event log: every event is stored, with retention pruning.
	d.follow(ctx, "store", 64, d.storeEvent)
	d.goLoop(ctx, 10*time.Minute, d.prune)

	// Cameras.
	d.cams = newCameras(d)
	if err := d.cams.startDevices(ctx, cfg.Cameras); err != nil {
		return err
	}
	add(func(context.Context) { d.cams.stop() })

	// WebRTC.
	rm, err := rtc.New(rtc.Config{UDPPort: cfg.WebRTC.UDPPort, ICEServers: cfg.WebRTC.ICEServers,
		MaxPeers: cfg.WebRTC.MaxPeers, IncludeLoopback: cfg.WebRTC.IncludeLoopback},
		rtcHost{d}, d.log.With("component", "rtc"))
	if err != nil {
		return err
	}
	d.rtc = rm
	add(func(context.Context) { _ = rm.Close() })

	// HTTPS.
	if err := d.startWeb(ctx, add); err != nil {
		return err
	}

	// MQTT last among the producers of traffic, first to say offline.
	if cfg.MQTT.Broker != "" {
		if err := d.startMQTT(ctx); err != nil {
			return err
		}
	}

	add(func(context.Context) { d.lastUnknown.close() })
	d.startNotify(ctx)
	return nil
}

// follow subscribes fn to the event hub on a goroutine owned by the daemon.
func (d *daemon) follow(ctx context.Context, name string, size int, fn func(pipeline.Event)) {
	sub := d.events.Subscribe(name, size)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-sub.C:
				if !ok {
					return
				}
				fn(ev)
			}
		}
	}()
}

// goLoop runs fn now and then every interval until ctx ends.
func (d *daemon) goLoop(ctx context.Context, every time.Duration, fn func(context.Context)) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			fn(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (d *daemon) storeEvent(ev pipeline.Event) {
	if ev.Type == pipeline.EventPresence {
		return
	}
	if ev.Type == pipeline.EventUnknown {
		d.lastUnknown.set(ev)
	}
	_, err := d.store.AddEvent(store.Event{
		ID: ev.ID, Type: string(ev.Type), Time: ev.Time, Camera: ev.Camera, Track: ev.Track,
		PersonID: ev.PersonID, Name: ev.Name, Similarity: ev.Similarity,
		Box: [4]float32{ev.Box.X, ev.Box.Y, ev.Box.W, ev.Box.H}, Thumb: ev.Thumb,
	})
	if err != nil && !errors.Is(err, store.ErrClosed) {
		d.log.Warn("storing an event", "err", err)
	}
}

func (d *daemon) prune(ctx context.Context) {
	set := d.settings.current()
	n, err := d.store.PruneEvents(ctx, store.Retention{MaxAge: time.Duration(set.Retention), MaxCount: d.cfg.Events.Max})
	if err != nil && ctx.Err() == nil {
		d.log.Warn("pruning events", "err", err)
	} else if n > 0 {
		d.log.Info("pruned old events", "count", n)
	}
	if _, err := d.store.PruneSessions(); err != nil && ctx.Err() == nil {
		d.log.Warn("pruning sessions", "err", err)
	}
}

// reload applies what can change without a restart: the log level and the
// device cameras (added, removed or changed ones are restarted). Everything
// else is reported as needing a restart.
func (d *daemon) reload(cfg config.Config) {
	if err := cfg.Validate(); err != nil {
		d.log.Error("configuration not reloaded", "err", err)
		return
	}
	if d.opt.Level != nil {
		var lv slog.Level
		if lv.UnmarshalText([]byte(cfg.Log.Level)) == nil {
			d.opt.Level.Set(lv)
		}
	}
	d.cams.reconcile(cfg.Cameras)
	old := d.cfg // d.cfg stays as started: other goroutines read it
	if old.StateDir != cfg.StateDir || old.HTTP != cfg.HTTP || old.MQTT.Broker != cfg.MQTT.Broker ||
		old.WebRTC.UDPPort != cfg.WebRTC.UDPPort || old.Models != cfg.Models || old.Events != cfg.Events {
		d.log.Warn("configuration reloaded; only cameras and the log level change now, the rest at the next restart")
	} else {
		d.log.Info("configuration reloaded")
	}
}

// statusLine is the STATUS= text systemd shows.
func (d *daemon) statusLine() string {
	peers := 0
	if d.rtc != nil {
		peers = d.rtc.Peers()
	}
	mq := "off"
	if d.mqtt != nil {
		if d.mqtt.Stats().Connected {
			mq = "connected"
		} else {
			mq = "disconnected"
		}
	}
	return fmt.Sprintf("cameras %s; browser peers %d; MQTT %s; %d people", d.cams.summary(), peers, mq, len(d.gallery.People()))
}
