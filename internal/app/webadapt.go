package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"facegate/internal/config"
	"facegate/internal/store"
	"facegate/internal/web"
	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// startWeb builds the HTTPS server, binds it, and serves in the background.
func (d *daemon) startWeb(ctx context.Context, add func(func(context.Context))) error {
	adminPW, err := config.AdminPassword(d.opt.Getenv)
	if err != nil {
		return err
	}
	d.auth = &authStore{d: d}
	srv, err := web.New(ctx, web.Options{
		HTTP: d.cfg.HTTP, StateDir: d.cfg.StateDir,
		Gallery:  webGallery{d},
		Events:   webEvents{d},
		Auth:     d.auth,
		Settings: d.settings,
		Live:     webLive{d},
		Backups:  webBackups{d},
		Routes: []web.Route{
			{Pattern: "POST /api/rtc/offer", Handler: http.HandlerFunc(d.handleOffer)},
		},
		AdminPassword: adminPW,
		Logger:        d.log,
	})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	d.web = srv
	srv.Metrics().Collect(func(w *web.MetricWriter) {
		web.WritePipelineStats(w, d.cams.stats()...)
		w.Gauge("facegate_webrtc_peers", "Open WebRTC peers (browser cameras and live viewers).", float64(d.rtc.Peers()))
		if d.mqtt != nil {
			st := d.mqtt.Stats()
			w.Gauge("facegate_mqtt_connected", "1 while connected to the MQTT broker.", b2f(st.Connected))
		}
	})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := srv.Serve(); err != nil {
			d.log.Error("https server", "err", err)
		}
	}()
	// Pages follow every gallery change, whoever made it.
	stopWatch := d.gallery.OnChange(func(gallery.Change) { srv.PeopleChanged(context.Background()) })
	d.follow(ctx, "web", 64, srv.PublishEvent)
	add(func(stopCtx context.Context) {
		stopWatch()
		if err := srv.Shutdown(stopCtx); err != nil {
			d.log.Warn("https shutdown", "err", err)
		}
	})
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// webGallery is the web page's view of the gallery service.
type webGallery struct{ d *daemon }

func (g webGallery) People(context.Context) ([]gallery.Person, error) {
	return g.d.gallery.People(), nil
}

func (g webGallery) Create(ctx context.Context, name string, photos [][]byte, src gallery.Source) (gallery.Person, []web.PhotoResult, error) {
	imgs := make([]gallery.Image, 0, len(photos))
	results := make([]web.PhotoResult, len(photos))
	idx := make([]int, 0, len(photos)) // position in photos of each decoded image
	for i, b := range photos {
		results[i].Index = i
		img, err := gallery.DecodeImage(bytes.NewReader(b))
		if err != nil {
			results[i].Reason = err.Error()
			continue
		}
		imgs = append(imgs, gallery.Image{Label: fmt.Sprintf("photo %d", i+1), Img: img})
		idx = append(idx, i)
	}
	if len(imgs) == 0 {
		return gallery.Person{}, results, fmt.Errorf("%w: no photo could be read", gallery.ErrNothingEnrolled)
	}
	e, err := g.d.gallery.EnrollImages(ctx, name, imgs, src, gallery.EnrollOptions{})
	for k, r := range e.Results {
		pr := &results[idx[k]]
		pr.SampleID = r.SampleID
		pr.OK = r.Err == nil && r.SampleID != ""
		if r.Err != nil {
			pr.Reason = r.Err.Error()
		}
	}
	return e.Person, results, err
}

func (g webGallery) Rename(ctx context.Context, id, name string) (gallery.Person, error) {
	return g.d.gallery.Rename(ctx, id, name)
}

func (g webGallery) Delete(ctx context.Context, id string) error {
	_, err := g.d.gallery.Delete(ctx, id)
	if err == nil {
		g.d.presence.Forget(id)
	}
	return err
}

func (g webGallery) Samples(_ context.Context, personID string) ([]web.Sample, error) {
	ss, err := g.d.store.Samples(personID)
	if err != nil {
		return nil, err
	}
	out := make([]web.Sample, len(ss))
	for i, s := range ss {
		out[i] = web.Sample{ID: s.ID, Source: s.Source, Time: s.Time, Quality: s.Quality}
	}
	return out, nil
}

func (g webGallery) SampleFace(_ context.Context, personID, sampleID string) ([]byte, error) {
	return g.d.store.SampleFace(personID, sampleID)
}

func (g webGallery) DeleteSample(ctx context.Context, personID, sampleID string) error {
	_, err := g.d.gallery.DeleteSample(ctx, personID, sampleID)
	return err
}

func (g webGallery) AddFromTrack(ctx context.Context, camera string, track int, name string) (gallery.Person, error) {
	r := g.d.cams.runner(camera)
	if r == nil {
		return gallery.Person{}, fmt.Errorf("%w: camera %q", gallery.ErrNotFound, camera)
	}
	e, err := pipeline.EnrollTrack(ctx, r, track, name, g.d.gallery, gallery.EnrollOptions{})
	if errors.Is(err, pipeline.ErrNoTrack) {
		return gallery.Person{}, fmt.Errorf("%w: track %d is no longer on camera %s", gallery.ErrNotFound, track, camera)
	}
	if errors.Is(err, pipeline.ErrNoSamples) {
		return gallery.Person{}, fmt.Errorf("%w: %v", gallery.ErrPoorFace, err)
	}
	return e.Person, err
}

// webEvents is the event log.
type webEvents struct{ d *daemon }

func (e webEvents) List(_ context.Context, f web.EventFilter) ([]pipeline.Event, error) {
	evs, err := e.d.store.ListEvents(store.EventFilter{PersonID: f.PersonID, Camera: f.Camera, Known: f.Known, BeforeID: f.Before, Limit: f.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]pipeline.Event, len(evs))
	for i, ev := range evs {
		out[i] = pipeline.Event{Type: pipeline.EventType(ev.Type), ID: ev.ID, Time: ev.Time, Camera: ev.Camera, Track: ev.Track,
			PersonID: ev.PersonID, Name: ev.Name, Similarity: ev.Similarity}
		out[i].Box.X, out[i].Box.Y, out[i].Box.W, out[i].Box.H = ev.Box[0], ev.Box[1], ev.Box[2], ev.Box[3]
	}
	return out, nil
}

func (e webEvents) Thumb(_ context.Context, id string) ([]byte, error) {
	ev, err := e.d.store.Event(id)
	if err != nil {
		return nil, err
	}
	if len(ev.Thumb) == 0 {
		return nil, fmt.Errorf("%w: event %s has no thumbnail", gallery.ErrNotFound, id)
	}
	return ev.Thumb, nil
}

// webBackups streams the store.
type webBackups struct{ d *daemon }

func (b webBackups) Backup(_ context.Context, w io.Writer) error {
	_, err := b.d.store.WriteTo(w)
	return err
}

func (b webBackups) Restore(ctx context.Context, r io.Reader) error {
	if err := b.d.gallery.Restore(ctx, r); err != nil {
		return fmt.Errorf("%w: %v", web.ErrInvalid, err)
	}
	return nil
}

// authStore adapts the store's users, sessions and tokens; ending a session
// also closes its WebRTC peers.
type authStore struct{ d *daemon }

func (a *authStore) UserCount(context.Context) (int, error) { return a.d.store.UserCount() }

func (a *authStore) User(_ context.Context, name string) (web.User, error) {
	u, err := a.d.store.User(name)
	return web.User{Name: u.Name, PasswordHash: u.PasswordHash, Admin: u.Admin, Created: u.Created}, err
}

func (a *authStore) CreateFirstUser(_ context.Context, u web.User) error {
	return a.d.store.CreateFirstUser(store.User{Name: u.Name, PasswordHash: u.PasswordHash, Admin: u.Admin, Created: u.Created})
}

func (a *authStore) UpdateUser(_ context.Context, u web.User) error {
	return a.d.store.UpdateUser(store.User{Name: u.Name, PasswordHash: u.PasswordHash, Admin: u.Admin, Created: u.Created, Updated: time.Now()})
}

func (a *authStore) PutSession(_ context.Context, s web.Session) error {
	return a.d.store.PutSession(store.Session{TokenHash: s.TokenHash, User: s.User, Created: s.Created, Expires: s.Expires})
}

func (a *authStore) Session(_ context.Context, h []byte) (web.Session, error) {
	s, err := a.d.store.Session(h)
	return web.Session{TokenHash: s.TokenHash, User: s.User, Created: s.Created, Expires: s.Expires}, err
}

func (a *authStore) DeleteSession(_ context.Context, h []byte) error {
	err := a.d.store.DeleteSession(h)
	if a.d.rtc != nil {
		a.d.rtc.CloseOwner(ownerOf(h)) // logout ends the session's video
	}
	return err
}

func (a *authStore) PutAPIToken(_ context.Context, t web.APIToken) error {
	return a.d.store.PutAPIToken(store.APIToken{ID: t.ID, Name: t.Name, User: t.User, TokenHash: t.Hash, Created: t.Created})
}

func (a *authStore) APITokens(context.Context) ([]web.APIToken, error) {
	ts, err := a.d.store.APITokens()
	out := make([]web.APIToken, len(ts))
	for i, t := range ts {
		out[i] = web.APIToken{ID: t.ID, Name: t.Name, User: t.User, Hash: t.TokenHash, Created: t.Created}
	}
	return out, err
}

func (a *authStore) APITokenByHash(_ context.Context, h []byte) (web.APIToken, error) {
	t, err := a.d.store.APITokenByHash(h)
	return web.APIToken{ID: t.ID, Name: t.Name, User: t.User, Hash: t.TokenHash, Created: t.Created}, err
}

func (a *authStore) DeleteAPIToken(_ context.Context, id string) error {
	return a.d.store.DeleteAPIToken(id)
}
