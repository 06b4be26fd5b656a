package mqtt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"facegate/pipeline"
	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// ServiceGallery adapts the gallery service, plus three hooks only the
// daemon can provide, to Gallery. internal/app fills it in:
//
//	g := &mqtt.ServiceGallery{Service: svc, FromCamera: ..., LastUnknown: ..., HealthFunc: ...}
type ServiceGallery struct {
	Service *gallery.Service
	// FromCamera enrolls the best face seen on camera within timeout under
	// name (the pipeline's live-track enrollment). Nil: refused with a clear
	// error.
	FromCamera func(ctx context.Context, camera, name string, timeout time.Duration) (gallery.Person, error)
	// LastUnknown returns the embedding of the last unknown face seen, if
	// any. Nil: "ignore" is refused with a clear error.
	LastUnknown func() (frame.Embedding, bool)
	// HealthFunc reports the daemon's health. Nil: {"status":"ok"}.
	HealthFunc func(ctx context.Context) (any, error)
	// Runner finds the pipeline runner of a camera; with it (and no
	// LastUnknown hook) "ignore" takes the embedding of the last unknown
	// face's track while that face is still in view.
	Runner func(camera string) (*pipeline.Runner, bool)

	mu      sync.Mutex
	unknown *pipeline.Event // the last unknown event seen (Observe)
}

// Observe records unknown events for "ignore"; the bridge calls it for
// every pipeline event it handles.
func (g *ServiceGallery) Observe(ev pipeline.Event) {
	if ev.Type != pipeline.EventUnknown {
		return
	}
	e := ev
	e.Thumb = nil
	g.mu.Lock()
	g.unknown = &e
	g.mu.Unlock()
}

var _ Gallery = (*ServiceGallery)(nil)

func fromGallery(p gallery.Person) Person {
	return Person{ID: p.ID, Name: p.Name, Samples: p.Samples}
}

// People lists the enrolled people (from the current snapshot: no I/O).
func (g *ServiceGallery) People(context.Context) ([]Person, error) {
	people := g.Service.People()
	out := make([]Person, len(people))
	for i, p := range people {
		out[i] = fromGallery(p)
	}
	return out, nil
}

// RegisterImage decodes the image and enrolls it through the service with
// source "mqtt"; the service's quality gate refuses no face, several faces
// and poor faces, and then nothing changes.
func (g *ServiceGallery) RegisterImage(ctx context.Context, name string, img []byte) (Person, error) {
	im, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return Person{}, fmt.Errorf("cannot decode the image: %w", err)
	}
	e, err := g.Service.EnrollImages(ctx, name, []gallery.Image{{Label: "mqtt", Img: im}}, gallery.SourceMQTT, gallery.EnrollOptions{})
	if err != nil {
		for _, r := range e.Results {
			if r.Err != nil {
				return Person{}, cleanErr(r.Err) // the reason of the one image says more
			}
		}
		return Person{}, cleanErr(err)
	}
	return fromGallery(e.Person), nil
}

// RegisterFromCamera enrolls from a live camera.
func (g *ServiceGallery) RegisterFromCamera(ctx context.Context, camera, name string, timeout time.Duration) (Person, error) {
	if g.FromCamera == nil {
		return Person{}, errors.New("registering from a camera is not available on this device")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := g.FromCamera(ctx, camera, name, timeout)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return Person{}, fmt.Errorf("no face good enough to enroll was seen within %s", timeout)
		}
		return Person{}, cleanErr(err)
	}
	return fromGallery(p), nil
}

// Delete removes a person.
func (g *ServiceGallery) Delete(ctx context.Context, id string) (Person, error) {
	p, err := g.Service.Delete(ctx, id)
	if err != nil {
		return Person{}, cleanErr(err)
	}
	return fromGallery(p), nil
}

// Rename renames a person.
func (g *ServiceGallery) Rename(ctx context.Context, id, name string) (Person, error) {
	p, err := g.Service.Rename(ctx, id, name)
	if err != nil {
		return Person{}, cleanErr(err)
	}
	return fromGallery(p), nil
}

// IgnoreLastUnknown marks the last unknown face as "not a person".
func (g *ServiceGallery) IgnoreLastUnknown(ctx context.Context) error {
	var e frame.Embedding
	switch {
	case g.LastUnknown != nil:
		var ok bool
		if e, ok = g.LastUnknown(); !ok {
			return errors.New("no unknown face seen yet")
		}
	case g.Runner != nil:
		g.mu.Lock()
		last := g.unknown
		g.mu.Unlock()
		if last == nil {
			return errors.New("no unknown face seen yet")
		}
		r, ok := g.Runner(last.Camera)
		if !ok {
			return fmt.Errorf("camera %q of the last unknown face is gone", last.Camera)
		}
		samples, err := r.TrackSamples(last.Track)
		if err != nil || len(samples) == 0 {
			return fmt.Errorf("the last unknown face (camera %s, track %d) is no longer in view; ignore it while it is", last.Camera, last.Track)
		}
		e = samples[0].Embedding
	default:
		return errors.New("ignoring faces is not available on this device")
	}
	_, err := g.Service.Ignore(ctx, e)
	return cleanErr(err)
}

// Health reports the daemon's health.
func (g *ServiceGallery) Health(ctx context.Context) (any, error) {
	if g.HealthFunc == nil {
		return map[string]any{"status": "ok", "people": len(g.Service.People())}, nil
	}
	return g.HealthFunc(ctx)
}

// cleanErr drops the "gallery: " prefix of the service's errors: the
// requester asked facegate, not a package.
func cleanErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	const prefix = "gallery: "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return wrapped{msg: msg[len(prefix):], err: err}
	}
	return err
}

// wrapped changes an error's message and keeps it for errors.Is.
type wrapped struct {
	msg string
	err error
}

// Error is the new message.
func (w wrapped) Error() string { return w.msg }

// Unwrap keeps the cause for errors.Is.
func (w wrapped) Unwrap() error { return w.err }

// WatchGallery makes the bridge follow every gallery change (from the web
// page and the CLI too): the people list and discovery are re-published.
// Call the returned function to stop.
func (b *Bridge) WatchGallery(svc *gallery.Service) (stop func()) {
	if b == nil || svc == nil {
		return func() {}
	}
	return svc.OnChange(func(c gallery.Change) {
		switch c.Kind {
		case gallery.ChangeIgnored, gallery.ChangePolicy:
			return
		}
		b.PeopleChanged()
	})
}

// HandleEvent takes one pipeline event (from a pipeline.Hub subscription)
// without waiting: presence events become <base>/person/<id>, the others
// <base>/event, and the event's thumbnail becomes the snapshot.
func (b *Bridge) HandleEvent(ev pipeline.Event) {
	if b == nil {
		return
	}
	if ev.Type == pipeline.EventPresence {
		b.SetPresence(Presence{PersonID: ev.PersonID, Name: ev.Name, State: ev.State, LastSeen: ev.Time, Camera: ev.Camera})
		return
	}
	if o, ok := b.gallery.(interface{ Observe(pipeline.Event) }); ok {
		o.Observe(ev)
	}
	b.Publish(Event{
		Type: string(ev.Type), ID: ev.ID, Time: ev.Time, Camera: ev.Camera, Track: int64(ev.Track),
		PersonID: ev.PersonID, Name: ev.Name, Similarity: ev.Similarity, Box: ev.Box,
		Thumb: ev.Thumb,
	})
}

// FollowEvents hands every event of a hub subscription to the bridge until
// the channel closes or ctx ends. The hub's buffer is the bounded queue
// between the pipeline and MQTT; the caller owns the goroutine it runs in.
func (b *Bridge) FollowEvents(ctx context.Context, events <-chan pipeline.Event) {
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return
			}
			b.HandleEvent(ev)
		case <-ctx.Done():
			return
		}
	}
}

// CameraEnroller returns a ServiceGallery.FromCamera that enrolls from a
// running pipeline: it watches the camera's latest results and enrolls the
// best samples of the largest face's track as soon as the gallery's quality
// gate accepts them, until ctx ends (the request's timeout). runner finds
// the runner of a camera ("" = the default camera).
func CameraEnroller(svc *gallery.Service, runner func(camera string) (*pipeline.Runner, bool)) func(context.Context, string, string, time.Duration) (gallery.Person, error) {
	return func(ctx context.Context, camera, name string, _ time.Duration) (gallery.Person, error) {
		r, ok := runner(camera)
		if !ok {
			if camera == "" {
				return gallery.Person{}, errors.New("no camera on this device")
			}
			return gallery.Person{}, fmt.Errorf("no camera named %q", camera)
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		lastErr := errors.New("no face in view")
		for {
			if res := r.Latest(); res.N > 0 {
				faces := res.List()
				best := faces[0]
				for _, f := range faces[1:] {
					if f.Box.Area() > best.Box.Area() {
						best = f
					}
				}
				e, err := pipeline.EnrollTrack(ctx, r, best.Track, name, svc, gallery.EnrollOptions{})
				if err == nil {
					return e.Person, nil
				}
				if errors.Is(err, gallery.ErrBadName) || errors.Is(err, gallery.ErrNameTaken) {
					return gallery.Person{}, err
				}
				lastErr = err // not good enough yet: keep watching
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return gallery.Person{}, fmt.Errorf("%w: %v", context.DeadlineExceeded, lastErr)
			}
		}
	}
}
