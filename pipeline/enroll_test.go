package pipeline

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"facegate/pipeline/gallery"
)

// memStore is an in-memory gallery.Store (internal/store is out of the
// pipeline's reach by design).
type memStore struct {
	mu      sync.Mutex
	people  []gallery.Person
	samples []gallery.Sample
}

func (s *memStore) Load() (gallery.Data, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return gallery.Data{People: slices.Clone(s.people), Samples: slices.Clone(s.samples)}, nil
}

func (s *memStore) Enroll(name string, mustBeNew bool, samples []gallery.Sample) (gallery.Person, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.people {
		if p.Name == name {
			if mustBeNew {
				return gallery.Person{}, false, gallery.ErrNameTaken
			}
			return s.addLocked(p.ID, samples), false, nil
		}
	}
	p := gallery.Person{ID: gallery.NewID(), Name: name}
	s.people = append(s.people, p)
	return s.addLocked(p.ID, samples), true, nil
}

func (s *memStore) addLocked(id string, samples []gallery.Sample) gallery.Person {
	var p *gallery.Person
	for i := range s.people {
		if s.people[i].ID == id {
			p = &s.people[i]
		}
	}
	for _, sm := range samples {
		sm.PersonID = id
		s.samples = append(s.samples, sm)
		p.Samples++
	}
	return *p
}

func (s *memStore) AddSamples(id string, samples []gallery.Sample) (gallery.Person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(id, samples), nil
}

func (s *memStore) DeletePerson(id string) (gallery.Person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.people {
		if p.ID == id {
			s.people = slices.Delete(s.people, i, i+1)
			s.samples = slices.DeleteFunc(s.samples, func(sm gallery.Sample) bool { return sm.PersonID == id })
			return p, nil
		}
	}
	return gallery.Person{}, gallery.ErrNotFound
}

func (s *memStore) Rename(string, string) (gallery.Person, error) {
	return gallery.Person{}, errors.ErrUnsupported
}
func (s *memStore) DeleteSample(string, string) (gallery.Person, error) {
	return gallery.Person{}, errors.ErrUnsupported
}
func (s *memStore) Samples(string) ([]gallery.Sample, error) { return nil, errors.ErrUnsupported }
func (s *memStore) AddIgnored(gallery.Ignored) error         { return errors.ErrUnsupported }
func (s *memStore) DeleteIgnored(string) error               { return errors.ErrUnsupported }

// "Enroll track 1 as 김민수" in the middle of a video of a stranger: the
// gallery service stores the track's best faces, and the rest of the video
// names the face (one recognized event). Then deleting the person, still
// mid-video, stops the naming.
func TestEnrollFromLiveTrack(t *testing.T) {
	m := models(t)
	svc, err := gallery.New(&memStore{}, nil, &gallery.ModelVision{Det: m.Det, Emb: m.Emb}, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(clipLen(t, "mark_zuckerberg_640x480_15fps_5s.mjpeg"))
	enrollAt, deleteAt := n/3, 3*n/4
	var runner atomic.Pointer[Runner]
	var enrolled gallery.Enrollment
	var enrollErr, deleteErr error
	onFrame := func(seq uint64) {
		switch seq {
		case enrollAt:
			enrolled, enrollErr = EnrollTrack(context.Background(), runner.Load(), 1, "김민수", svc, gallery.EnrollOptions{New: true})
		case deleteAt:
			_, deleteErr = svc.Delete(context.Background(), enrolled.Person.ID)
		}
	}
	p := watchVideoWith(t, m, svc.Matcher(), "mark_zuckerberg_640x480_15fps_5s.mjpeg", onFrame, &runner)
	if enrollErr != nil || deleteErr != nil {
		t.Fatalf("enroll: %v; delete: %v", enrollErr, deleteErr)
	}
	if enrolled.Person.Samples < 1 || !enrolled.Created {
		t.Fatalf("enrollment %+v", enrolled)
	}
	named := 0
	for _, res := range p.results {
		for _, f := range res.List() {
			switch {
			case f.Known && (res.Seq < enrollAt || res.Seq >= deleteAt):
				t.Fatalf("frame %d names %q outside the enrolled span", res.Seq, f.Name)
			case f.Known && f.Name != "김민수":
				t.Fatalf("frame %d names %q", res.Seq, f.Name)
			case f.Known:
				named++
			}
		}
	}
	if uint64(named) < (deleteAt-enrollAt)/2 {
		t.Errorf("named in only %d of %d frames after enrollment", named, deleteAt-enrollAt-1)
	}
	var rec []Event
	for _, e := range p.events {
		if e.Type == EventRecognized {
			rec = append(rec, e)
		}
	}
	if len(rec) != 1 || rec[0].Name != "김민수" || rec[0].Track != 1 {
		t.Errorf("recognized events %+v, want one for 김민수 on track 1", rec)
	}
}
