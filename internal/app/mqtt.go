package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"facegate/internal/mqtt"
	"facegate/pipeline"
	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// startMQTT builds the bridge and starts it; it is closed (publishing
// offline) after the pipeline has stopped, see start.
func (d *daemon) startMQTT(ctx context.Context) error {
	opts := mqtt.FromConfig(d.cfg.MQTT, deviceID(), d.opt.Version)
	if len(d.cfg.Cameras) > 0 {
		opts.Camera = d.cfg.Cameras[0].Name
	}
	g := &mqtt.ServiceGallery{
		Service:     d.gallery,
		FromCamera:  d.enrollFromCamera,
		LastUnknown: d.lastUnknown.embedding(d),
		HealthFunc: func(context.Context) (any, error) {
			return map[string]any{"status": "ok", "summary": d.statusLine(), "people": len(d.gallery.People())}, nil
		},
	}
	b, err := mqtt.New(opts, g, d.log)
	if err != nil {
		return err
	}
	// The bridge outlives the run context: it stops in mqttStop, after the
	// pipeline, so the last events and "offline" still reach the broker.
	if err := b.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	d.mqtt = b
	stopWatch := b.WatchGallery(d.gallery)
	sub := d.events.Subscribe("mqtt", 64)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer sub.Close()
		// Not ctx: the events of the last frames still go out; the
		// subscription ends when the hub closes at shutdown.
		b.FollowEvents(context.WithoutCancel(ctx), sub.C)
	}()
	d.mqttStop = func() {
		stopWatch()
		if err := b.Close(); err != nil {
			d.log.Warn("mqtt close", "err", err)
		}
	}
	return nil
}

// enrollFromCamera waits for the best face on camera (the largest live
// track with a usable sample) and enrolls it under name.
func (d *daemon) enrollFromCamera(ctx context.Context, cameraName, name string, _ time.Duration) (gallery.Person, error) {
	if cameraName == "" && len(d.cfg.Cameras) > 0 {
		cameraName = d.cfg.Cameras[0].Name
	}
	e := d.cams.get(cameraName)
	if e == nil {
		return gallery.Person{}, fmt.Errorf("%w: camera %q", gallery.ErrNotFound, cameraName)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if res, ok := e.tap.result(); ok && res.N > 0 {
			best := res.List()[0]
			for _, f := range res.List()[1:] {
				if f.Box.Area() > best.Box.Area() {
					best = f
				}
			}
			en, err := pipeline.EnrollTrack(ctx, e.runner, best.Track, name, d.gallery, gallery.EnrollOptions{})
			if err == nil {
				return en.Person, nil
			}
			if !errors.Is(err, pipeline.ErrNoSamples) && !errors.Is(err, pipeline.ErrNoTrack) {
				return gallery.Person{}, err
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return gallery.Person{}, fmt.Errorf("%w (%v)", ctx.Err(), lastErr)
			}
			return gallery.Person{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// lastUnknown remembers the last unknown face, so "ignore" can mark it as
// not a person.
type lastUnknown struct {
	mu sync.Mutex
	ev pipeline.Event
	ok bool

	visMu sync.Mutex // guards vis: interpreters are not goroutine-safe
	vis   *gallery.ModelVision
}

func (l *lastUnknown) set(ev pipeline.Event) {
	l.mu.Lock()
	l.ev, l.ok = ev, true
	l.mu.Unlock()
}

// embedding returns the hook the MQTT bridge calls: it embeds the face in
// the last unknown event's thumbnail with models of its own, loaded on
// first use (ignore is rare).
func (l *lastUnknown) embedding(d *daemon) func() (frame.Embedding, bool) {
	return func() (frame.Embedding, bool) {
		l.mu.Lock()
		ev, ok := l.ev, l.ok
		l.mu.Unlock()
		if !ok || len(ev.Thumb) == 0 {
			return frame.Embedding{}, false
		}
		img, _, err := image.Decode(bytes.NewReader(ev.Thumb))
		if err != nil {
			return frame.Embedding{}, false
		}
		l.visMu.Lock()
		defer l.visMu.Unlock()
		if l.vis == nil {
			v, err := d.models.vision()
			if err != nil {
				d.log.Warn("loading models for ignore", "err", err)
				return frame.Embedding{}, false
			}
			l.vis = v
		}
		faces, err := l.vis.Faces(img)
		if err != nil || len(faces) == 0 {
			return frame.Embedding{}, false
		}
		desc, err := l.vis.Describe(img, faces[0])
		if err != nil {
			return frame.Embedding{}, false
		}
		return desc.Embedding, true
	}
}

func (l *lastUnknown) close() {
	l.visMu.Lock()
	defer l.visMu.Unlock()
	if l.vis != nil {
		l.vis.Det.Close() // the embedder is shared (loaded.release)
		l.vis = nil
	}
}
