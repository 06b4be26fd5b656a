//go:build e2e

package web

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline/gallery"
)

// serviceGallery is Gallery over the real gallery.Service with the shipped
// models (BlazeFace + MobileFaceNet), so the browser test enrolls through
// real detection and embedding; only the bbolt store is replaced by
// memStore (internal/web may not import internal/store).
type serviceGallery struct {
	svc   *gallery.Service
	close func()
}

func newServiceGallery() (*serviceGallery, error) {
	det, err := blazeface.New(blazeface.Options{Model: "short", Threads: 1})
	if err != nil {
		return nil, err
	}
	emb, err := facenet.New(facenet.Options{Threads: 1})
	if err != nil {
		det.Close()
		return nil, err
	}
	svc, err := gallery.New(newMemStore(), nil, &gallery.ModelVision{Det: det, Emb: emb}, gallery.Options{})
	if err != nil {
		det.Close()
		emb.Close()
		return nil, err
	}
	return &serviceGallery{svc: svc, close: func() { det.Close(); emb.Close() }}, nil
}

func (g *serviceGallery) People(context.Context) ([]gallery.Person, error) {
	return g.svc.People(), nil
}

func (g *serviceGallery) Create(ctx context.Context, name string, photos [][]byte, src gallery.Source) (gallery.Person, []PhotoResult, error) {
	res := make([]PhotoResult, len(photos))
	var imgs []gallery.Image
	var at []int // index in photos of each image
	for i, b := range photos {
		res[i].Index = i
		img, err := gallery.DecodeImage(bytes.NewReader(b))
		if err != nil {
			res[i].Reason = err.Error()
			continue
		}
		imgs = append(imgs, gallery.Image{Label: fmt.Sprintf("photo %d", i+1), Img: img})
		at = append(at, i)
	}
	if len(imgs) == 0 {
		return gallery.Person{}, res, fmt.Errorf("%w: no readable photo", gallery.ErrNothingEnrolled)
	}
	e, err := g.svc.EnrollImages(ctx, name, imgs, src, gallery.EnrollOptions{})
	for j, r := range e.Results {
		i := at[j]
		res[i].OK, res[i].SampleID = r.Err == nil && r.SampleID != "", r.SampleID
		if r.Err != nil {
			res[i].Reason = r.Err.Error()
		}
	}
	return e.Person, res, err
}

func (g *serviceGallery) Rename(ctx context.Context, id, name string) (gallery.Person, error) {
	return g.svc.Rename(ctx, id, name)
}

func (g *serviceGallery) Delete(ctx context.Context, id string) error {
	_, err := g.svc.Delete(ctx, id)
	return err
}

func (g *serviceGallery) Samples(_ context.Context, id string) ([]Sample, error) {
	ss, err := g.svc.Samples(id)
	out := make([]Sample, 0, len(ss))
	for _, s := range ss {
		out = append(out, Sample{ID: s.ID, Source: s.Source, Time: s.Time, Quality: s.Quality})
	}
	return out, err
}

func (g *serviceGallery) SampleFace(_ context.Context, id, sid string) ([]byte, error) {
	ss, err := g.svc.Samples(id)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		if s.ID == sid && len(s.Face) > 0 {
			return s.Face, nil
		}
	}
	return nil, fmt.Errorf("sample %q: %w", sid, gallery.ErrNotFound)
}

func (g *serviceGallery) DeleteSample(ctx context.Context, id, sid string) error {
	_, err := g.svc.DeleteSample(ctx, id, sid)
	return err
}

func (g *serviceGallery) AddFromTrack(context.Context, string, int, string) (gallery.Person, error) {
	return gallery.Person{}, fmt.Errorf("%w: no cameras in the test server", ErrUnavailable)
}

// memStore is an in-memory gallery.Store with the store's rules: names
// unique, unknown ids ErrNotFound, a person's last sample not removable.
type memStore struct {
	mu      sync.Mutex
	people  map[string]gallery.Person
	samples map[string][]gallery.Sample
	ignored []gallery.Ignored
}

func newMemStore() *memStore {
	return &memStore{people: map[string]gallery.Person{}, samples: map[string][]gallery.Sample{}}
}

func (m *memStore) Load() (gallery.Data, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var d gallery.Data
	for id, p := range m.people {
		d.People = append(d.People, p)
		d.Samples = append(d.Samples, m.samples[id]...)
	}
	d.Ignored = slices.Clone(m.ignored)
	return d, nil
}

func (m *memStore) byName(name string) (gallery.Person, bool) {
	for _, p := range m.people {
		if p.Name == name {
			return p, true
		}
	}
	return gallery.Person{}, false
}

func (m *memStore) Enroll(name string, mustBeNew bool, samples []gallery.Sample) (gallery.Person, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, exists := m.byName(name)
	if exists && mustBeNew {
		return p, false, gallery.ErrNameTaken
	}
	if !exists {
		p = gallery.Person{ID: gallery.NewID(), Name: name}
	}
	for i := range samples {
		samples[i].PersonID = p.ID
	}
	m.samples[p.ID] = append(m.samples[p.ID], samples...)
	p.Samples = len(m.samples[p.ID])
	m.people[p.ID] = p
	return p, !exists, nil
}

func (m *memStore) AddSamples(id string, samples []gallery.Sample) (gallery.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.people[id]
	if !ok {
		return p, gallery.ErrNotFound
	}
	for i := range samples {
		samples[i].PersonID = id
	}
	m.samples[id] = append(m.samples[id], samples...)
	p.Samples = len(m.samples[id])
	m.people[id] = p
	return p, nil
}

func (m *memStore) Rename(id, name string) (gallery.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.people[id]
	if !ok {
		return p, gallery.ErrNotFound
	}
	if q, taken := m.byName(name); taken && q.ID != id {
		return p, gallery.ErrNameTaken
	}
	p.Name = name
	m.people[id] = p
	return p, nil
}

func (m *memStore) DeletePerson(id string) (gallery.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.people[id]
	if !ok {
		return p, gallery.ErrNotFound
	}
	delete(m.people, id)
	delete(m.samples, id)
	return p, nil
}

func (m *memStore) DeleteSample(id, sid string) (gallery.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.people[id]
	if !ok {
		return p, gallery.ErrNotFound
	}
	ss := m.samples[id]
	i := slices.IndexFunc(ss, func(s gallery.Sample) bool { return s.ID == sid })
	if i < 0 {
		return p, gallery.ErrNotFound
	}
	if len(ss) == 1 {
		return p, fmt.Errorf("%w: the last sample (delete the person instead)", ErrInvalid)
	}
	m.samples[id] = slices.Delete(ss, i, i+1)
	p.Samples = len(m.samples[id])
	m.people[id] = p
	return p, nil
}

func (m *memStore) Samples(id string) ([]gallery.Sample, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.people[id]; !ok {
		return nil, gallery.ErrNotFound
	}
	return slices.Clone(m.samples[id]), nil
}

func (m *memStore) AddIgnored(ig gallery.Ignored) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ignored = append(m.ignored, ig)
	return nil
}

func (m *memStore) DeleteIgnored(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.ignored, func(g gallery.Ignored) bool { return g.ID == id })
	if i < 0 {
		return gallery.ErrNotFound
	}
	m.ignored = slices.Delete(m.ignored, i, i+1)
	return nil
}
