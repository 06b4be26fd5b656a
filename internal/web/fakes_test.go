package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"slices"
	"sync"
	"time"

	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// fakeGallery keeps people in memory. It decodes every photo and calls an
// image "faceless" when all its pixels are equal: enough to drive the web
// layer, not a stand-in for detection (the browser test is also run against
// the real daemon).
type fakeGallery struct {
	mu      sync.Mutex
	people  map[string]gallery.Person
	samples map[string][]Sample
	now     func() time.Time
	writes  int // successful changes
}

func newFakeGallery() *fakeGallery {
	return &fakeGallery{people: map[string]gallery.Person{}, samples: map[string][]Sample{}, now: time.Now}
}

func (g *fakeGallery) People(context.Context) ([]gallery.Person, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]gallery.Person, 0, len(g.people))
	for _, p := range g.people {
		out = append(out, p)
	}
	return out, nil
}

func faceless(b []byte) bool {
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return true
	}
	r := img.Bounds()
	first := color.GrayModel.Convert(img.At(r.Min.X, r.Min.Y))
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		for x := r.Min.X; x < r.Max.X; x += 3 {
			if color.GrayModel.Convert(img.At(x, y)) != first {
				return false
			}
		}
	}
	return true
}

func (g *fakeGallery) Create(_ context.Context, name string, photos [][]byte, src gallery.Source) (gallery.Person, []PhotoResult, error) {
	name, err := gallery.NormalizeName(name)
	if err != nil {
		return gallery.Person{}, nil, err
	}
	var res []PhotoResult
	var ok []Sample
	for i, b := range photos {
		if faceless(b) {
			res = append(res, PhotoResult{Index: i, Reason: gallery.ErrNoFace.Error()})
			continue
		}
		s := Sample{ID: gallery.NewID(), Source: src, Time: g.now(), Quality: 1}
		ok = append(ok, s)
		res = append(res, PhotoResult{Index: i, OK: true, SampleID: s.ID})
	}
	if len(ok) == 0 {
		return gallery.Person{}, res, fmt.Errorf("%w: %w in any photo", gallery.ErrNothingEnrolled, gallery.ErrNoFace)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var p gallery.Person
	for _, q := range g.people {
		if q.Name == name {
			p = q
		}
	}
	if p.ID == "" {
		p = gallery.Person{ID: gallery.NewID(), Name: name, Created: g.now()}
	}
	p.Updated = g.now()
	g.samples[p.ID] = append(g.samples[p.ID], ok...)
	p.Samples = len(g.samples[p.ID])
	g.people[p.ID] = p
	g.writes++
	return p, res, nil
}

func (g *fakeGallery) Rename(_ context.Context, id, name string) (gallery.Person, error) {
	name, err := gallery.NormalizeName(name)
	if err != nil {
		return gallery.Person{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	p, ok := g.people[id]
	if !ok {
		return p, fmt.Errorf("person %q: %w", id, gallery.ErrNotFound)
	}
	for _, q := range g.people {
		if q.Name == name && q.ID != id {
			return p, fmt.Errorf("%q: %w", name, gallery.ErrNameTaken)
		}
	}
	p.Name, p.Updated = name, g.now()
	g.people[id] = p
	g.writes++
	return p, nil
}

func (g *fakeGallery) Delete(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.people[id]; !ok {
		return fmt.Errorf("person %q: %w", id, gallery.ErrNotFound)
	}
	delete(g.people, id)
	delete(g.samples, id)
	g.writes++
	return nil
}

func (g *fakeGallery) Samples(_ context.Context, id string) ([]Sample, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.people[id]; !ok {
		return nil, fmt.Errorf("person %q: %w", id, gallery.ErrNotFound)
	}
	return slices.Clone(g.samples[id]), nil
}

func (g *fakeGallery) SampleFace(_ context.Context, id, sid string) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, s := range g.samples[id] {
		if s.ID == sid {
			return testJPEG(112, 112, 128), nil
		}
	}
	return nil, fmt.Errorf("sample %q: %w", sid, gallery.ErrNotFound)
}

func (g *fakeGallery) DeleteSample(_ context.Context, id, sid string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	ss := g.samples[id]
	i := slices.IndexFunc(ss, func(s Sample) bool { return s.ID == sid })
	if i < 0 {
		return fmt.Errorf("sample %q: %w", sid, gallery.ErrNotFound)
	}
	g.samples[id] = slices.Delete(ss, i, i+1)
	p := g.people[id]
	p.Samples = len(g.samples[id])
	g.people[id] = p
	g.writes++
	return nil
}

func (g *fakeGallery) AddFromTrack(ctx context.Context, camera string, track int, name string) (gallery.Person, error) {
	if camera != "door" || track != 7 {
		return gallery.Person{}, fmt.Errorf("track %d on %q: %w", track, camera, gallery.ErrNotFound)
	}
	p, _, err := g.Create(ctx, name, [][]byte{testJPEG(64, 64, -1)}, gallery.SourceCamera)
	return p, err
}

func (g *fakeGallery) writeCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}

// testJPEG returns a JPEG; gray < 0 draws a gradient (a "face" to the fake),
// otherwise a uniform gray.
func testJPEG(w, h, gray int) []byte {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := gray
			if gray < 0 {
				v = (x*7 + y*3) % 256
			}
			img.Pix[y*img.Stride+x] = uint8(v)
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, nil)
	return b.Bytes()
}

type fakeAuth struct {
	mu       sync.Mutex
	users    map[string]User
	sessions map[string]Session
	tokens   map[string]APIToken
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{users: map[string]User{}, sessions: map[string]Session{}, tokens: map[string]APIToken{}}
}

func (a *fakeAuth) User(_ context.Context, name string) (User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[name]
	if !ok {
		return u, gallery.ErrNotFound
	}
	return u, nil
}

func (a *fakeAuth) CreateFirstUser(_ context.Context, u User) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.users) > 0 {
		return errors.New("a user already exists")
	}
	a.users[u.Name] = u
	return nil
}

func (a *fakeAuth) UpdateUser(_ context.Context, u User) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.users[u.Name]; !ok {
		return gallery.ErrNotFound
	}
	a.users[u.Name] = u
	return nil
}

func (a *fakeAuth) UserCount(context.Context) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.users), nil
}

func (a *fakeAuth) PutSession(_ context.Context, s Session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[string(s.TokenHash)] = s
	return nil
}

func (a *fakeAuth) Session(_ context.Context, h []byte) (Session, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[string(h)]
	if !ok {
		return s, gallery.ErrNotFound
	}
	return s, nil
}

func (a *fakeAuth) DeleteSession(_ context.Context, h []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, string(h))
	return nil
}

func (a *fakeAuth) PutAPIToken(_ context.Context, t APIToken) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[t.ID] = t
	return nil
}

func (a *fakeAuth) APITokens(context.Context) ([]APIToken, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []APIToken
	for _, t := range a.tokens {
		out = append(out, t)
	}
	return out, nil
}

func (a *fakeAuth) APITokenByHash(_ context.Context, h []byte) (APIToken, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.tokens {
		if bytes.Equal(t.Hash, h) {
			return t, nil
		}
	}
	return APIToken{}, gallery.ErrNotFound
}

func (a *fakeAuth) DeleteAPIToken(_ context.Context, id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.tokens[id]; !ok {
		return gallery.ErrNotFound
	}
	delete(a.tokens, id)
	return nil
}

type fakeSettings struct {
	mu sync.Mutex
	s  Settings
}

func (f *fakeSettings) Settings(context.Context) (Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.s, nil
}

func (f *fakeSettings) PutSettings(_ context.Context, s Settings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s = s
	return nil
}

type fakeLive struct{}

func (fakeLive) Cameras(context.Context) ([]CameraStatus, error) {
	return []CameraStatus{{Name: "door", Kind: "device", State: "running", Width: 320, Height: 240, FPS: 15}}, nil
}

func (fakeLive) Snapshot(_ context.Context, cam string) ([]byte, error) {
	if cam != "door" {
		return nil, fmt.Errorf("camera %q: %w", cam, gallery.ErrNotFound)
	}
	return testJPEG(320, 240, -1), nil
}

func (fakeLive) Faces(_ context.Context, cam string) ([]LiveFace, error) {
	if cam != "door" {
		return nil, fmt.Errorf("camera %q: %w", cam, gallery.ErrNotFound)
	}
	return []LiveFace{{Track: 7, Box: [4]float32{100, 60, 80, 100}, Similarity: 0.2}}, nil
}

type fakeEvents struct{ evs []pipeline.Event }

func (f *fakeEvents) List(_ context.Context, flt EventFilter) ([]pipeline.Event, error) {
	var out []pipeline.Event
	past := flt.Before == ""
	for _, e := range f.evs {
		if !past {
			past = e.ID == flt.Before
			continue
		}
		if flt.Camera != "" && e.Camera != flt.Camera || flt.PersonID != "" && e.PersonID != flt.PersonID ||
			flt.Known != nil && *flt.Known != (e.PersonID != "") {
			continue
		}
		out = append(out, e)
		if len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeEvents) Thumb(_ context.Context, id string) ([]byte, error) {
	for _, e := range f.evs {
		if e.ID == id {
			return testJPEG(64, 64, -1), nil
		}
	}
	return nil, gallery.ErrNotFound
}

type fakeBackups struct {
	mu   sync.Mutex
	data []byte
}

func (f *fakeBackups) Backup(_ context.Context, w io.Writer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := w.Write(f.data)
	return err
}

func (f *fakeBackups) Restore(_ context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(b, []byte("FGDB")) {
		return fmt.Errorf("%w: not a facegate backup", ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.data = b
	return nil
}

// fakes bundles one set of fakes.
type fakes struct {
	gallery  *fakeGallery
	auth     *fakeAuth
	settings *fakeSettings
	events   *fakeEvents
	backups  *fakeBackups
}

func newFakes() *fakes {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	evs := make([]pipeline.Event, 0, 5)
	for i := range 5 {
		e := pipeline.Event{Type: pipeline.EventUnknown, ID: fmt.Sprintf("ev%02d", 5-i), Time: now.Add(-time.Duration(i) * time.Minute), Camera: "door", Track: i + 1}
		if i%2 == 0 {
			e.Type, e.PersonID, e.Name, e.Similarity = pipeline.EventRecognized, "p1", "김민수", 0.7
		}
		evs = append(evs, e)
	}
	return &fakes{
		gallery:  newFakeGallery(),
		auth:     newFakeAuth(),
		settings: &fakeSettings{s: Settings{PresenceTimeout: Duration(5 * time.Minute), Retention: Duration(720 * time.Hour), DetectorModel: "short"}},
		events:   &fakeEvents{evs: evs},
		backups:  &fakeBackups{data: []byte("FGDB backup")},
	}
}

func (f *fakes) options() Options {
	return Options{
		Gallery: f.gallery, Events: f.events, Auth: f.auth, Settings: f.settings,
		Live: fakeLive{}, Backups: f.backups,
		KDF: KDFParams{MemoryKiB: 64, Time: 1, Threads: 1},
	}
}
