package mqtt

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/text/unicode/norm"

	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline"
	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// memStore is an in-memory gallery.Store: each method changes everything
// it should or nothing.
type memStore struct {
	mu      sync.Mutex
	people  []gallery.Person
	samples []gallery.Sample
	ignored []gallery.Ignored
}

func (m *memStore) Load() (gallery.Data, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return gallery.Data{People: slices.Clone(m.people), Samples: slices.Clone(m.samples), Ignored: slices.Clone(m.ignored)}, nil
}

func (m *memStore) find(id string) int {
	return slices.IndexFunc(m.people, func(p gallery.Person) bool { return p.ID == id })
}

func (m *memStore) Enroll(name string, mustBeNew bool, samples []gallery.Sample) (gallery.Person, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.people, func(p gallery.Person) bool { return p.Name == name })
	created := i < 0
	if !created && mustBeNew {
		return gallery.Person{}, false, gallery.ErrNameTaken
	}
	if created {
		m.people = append(m.people, gallery.Person{ID: gallery.NewID(), Name: name, Created: time.Now(), Updated: time.Now()})
		i = len(m.people) - 1
	}
	for _, s := range samples {
		s.PersonID = m.people[i].ID
		m.samples = append(m.samples, s)
	}
	m.people[i].Samples += len(samples)
	return m.people[i], created, nil
}

func (m *memStore) AddSamples(id string, samples []gallery.Sample) (gallery.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return gallery.Person{}, gallery.ErrNotFound
	}
	for _, s := range samples {
		s.PersonID = id
		m.samples = append(m.samples, s)
	}
	m.people[i].Samples += len(samples)
	return m.people[i], nil
}

func (m *memStore) Rename(id, name string) (gallery.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return gallery.Person{}, fmt.Errorf("person %q: %w", id, gallery.ErrNotFound)
	}
	m.people[i].Name = name
	return m.people[i], nil
}

func (m *memStore) DeletePerson(id string) (gallery.Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := m.find(id)
	if i < 0 {
		return gallery.Person{}, fmt.Errorf("person %q: %w", id, gallery.ErrNotFound)
	}
	p := m.people[i]
	m.people = slices.Delete(m.people, i, i+1)
	m.samples = slices.DeleteFunc(m.samples, func(s gallery.Sample) bool { return s.PersonID == id })
	return p, nil
}

func (m *memStore) DeleteSample(string, string) (gallery.Person, error) {
	return gallery.Person{}, gallery.ErrLastSample
}

func (m *memStore) Samples(id string) ([]gallery.Sample, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []gallery.Sample
	for _, s := range m.samples {
		if s.PersonID == id {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memStore) AddIgnored(ig gallery.Ignored) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ignored = append(m.ignored, ig)
	return nil
}

func (m *memStore) DeleteIgnored(string) error { return nil }

func (m *memStore) state() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, _ := json.Marshal([]any{m.people, len(m.samples), len(m.ignored)})
	return string(b)
}

// realGallery is the gallery service with the shipped models over memStore.
func realGallery(t *testing.T) (*gallery.Service, *memStore) {
	t.Helper()
	det, err := blazeface.New(blazeface.Options{})
	if err != nil {
		t.Skipf("detector unavailable: %v", err)
	}
	t.Cleanup(func() { det.Close() })
	emb, err := facenet.New(facenet.Options{})
	if err != nil {
		t.Skipf("embedder unavailable: %v", err)
	}
	t.Cleanup(func() { emb.Close() })
	st := &memStore{}
	svc, err := gallery.New(st, nil, &gallery.ModelVision{Det: det, Emb: emb}, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return svc, st
}

// TestRealGallery runs the requests against the real gallery service and
// models: a photo enrolls a Korean name (NFC, byte for byte), a photo without
// a face and one with two faces are refused with the reason and change
// nothing, a deletion removes the person's discovery component, and a change
// made elsewhere (the web page) reaches MQTT through WatchGallery.
func TestRealGallery(t *testing.T) {
	br := startBroker(t)
	svc, st := realGallery(t)
	w := newWatcher(t, br.url())
	g := &ServiceGallery{Service: svc}
	b := startBridge(t, br.url(), g)
	stop := b.WatchGallery(svc)
	defer stop()
	w.waitOnline()

	name := "김민수"
	r := w.request(w.responses, w.base, "register", "ok", map[string]any{"name": norm.NFD.String(name), "image": photo(t, "faces/Mark_Zuckerberg/1.jpg")})
	if r.Status != "ok" {
		t.Fatalf("register: %s", *r.Error)
	}
	var p personJSON
	if err := json.Unmarshal(r.Data, &p); err != nil {
		t.Fatal(err)
	}
	if p.Name != name || p.Samples != 1 {
		t.Fatalf("registered %+v", p)
	}
	waitFor(t, w.people, "people list with 김민수", func(m paho.Message) bool {
		return strings.Contains(string(m.Payload()), `"name":"김민수"`)
	})
	before := st.state()

	for _, c := range []struct{ file, want string }{
		{"faces/_noface/landscape_sea.jpg", "no face found"},
		{"faces/_noface/object_banana.jpg", "no face found"},
		{"faces/_group/bbt2.jpg", "several faces found"},
	} {
		r := w.request(w.responses, w.base, "register", c.file, map[string]any{"name": "이영희", "image": photo(t, c.file)})
		if r.Status != "error" || r.Error == nil || !strings.Contains(*r.Error, c.want) {
			t.Fatalf("%s: status %s, error %v; want %q", c.file, r.Status, deref(r.Error), c.want)
		}
	}
	if r := w.request(w.responses, w.base, "delete", "nobody", map[string]any{"person_id": "0123456789abcdef"}); r.Status != "error" {
		t.Fatalf("delete unknown id: %s", r.Status)
	}
	if after := st.state(); after != before {
		t.Fatalf("refused requests changed the gallery:\n%s\n%s", before, after)
	}

	// A rename from elsewhere (the web page) reaches the people list.
	if _, err := svc.Rename(context.Background(), p.ID, "민수"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, w.people, "people list after a rename elsewhere", func(m paho.Message) bool {
		return strings.Contains(string(m.Payload()), `"name":"민수"`)
	})

	r = w.request(w.responses, w.base, "delete", "del", map[string]any{"name": "민수"})
	if r.Status != "ok" {
		t.Fatalf("delete: %s", *r.Error)
	}
	waitFor(t, w.discovery, "discovery without the person", func(m paho.Message) bool {
		return !strings.Contains(strings.Join(componentIDs(m.Payload()), ","), p.ID)
	})
	if len(svc.People()) != 0 {
		t.Fatalf("people after delete: %+v", svc.People())
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestPipelineEvents feeds pipeline events through HandleEvent: a
// recognized event with a thumbnail becomes an event and a snapshot, a
// presence event becomes the person's retained state.
func TestPipelineEvents(t *testing.T) {
	br := startBroker(t)
	w := newWatcher(t, br.url())
	snaps := w.sub(w.base + "/snapshot")
	person := w.sub(w.base + "/person/abc123")
	b := startBridge(t, br.url(), &fakeGallery{})
	w.waitOnline()

	thumb, err := os.ReadFile(testdata(t, "faces/Katy_Perry/1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	hub := pipeline.NewHub[pipeline.Event](nil)
	sub := hub.Subscribe("mqtt", 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.FollowEvents(ctx, sub.C) }()
	defer func() { cancel(); <-done }()

	now := time.Date(2026, 11, 25, 22, 0, 0, 0, time.UTC)
	hub.Publish(pipeline.Event{Type: pipeline.EventRecognized, ID: "e1", Time: now, Camera: "door", Track: 3,
		PersonID: "abc123", Name: "김민수", Similarity: 0.7, Box: frame.Box{X: 200, Y: 100, W: 120, H: 150}, Thumb: thumb})
	hub.Publish(pipeline.Event{Type: pipeline.EventPresence, Time: now, Camera: "door", PersonID: "abc123", Name: "김민수", State: pipeline.StateHome})

	if m := waitFor(t, snaps, "snapshot from the thumbnail", nil); len(m.Payload()) < 1000 {
		t.Fatalf("snapshot of %d bytes", len(m.Payload()))
	}
	var e map[string]any
	if err := json.Unmarshal(waitFor(t, w.events, "event", nil).Payload(), &e); err != nil {
		t.Fatal(err)
	}
	if e["type"] != "recognized" || e["name"] != "김민수" || e["snapshot"] != w.base+"/snapshot" {
		t.Fatalf("event %v", e)
	}
	var pj map[string]any
	if err := json.Unmarshal(waitFor(t, person, "presence", nil).Payload(), &pj); err != nil {
		t.Fatal(err)
	}
	if pj["state"] != "home" || pj["name"] != "김민수" {
		t.Fatalf("presence %v", pj)
	}
	hub.Publish(pipeline.Event{Type: pipeline.EventPresence, Time: now.Add(time.Minute), Camera: "door", PersonID: "abc123", Name: "김민수", State: pipeline.StateAway})
	if err := json.Unmarshal(waitFor(t, person, "away", nil).Payload(), &pj); err != nil || pj["state"] != "away" {
		t.Fatalf("presence after away %v %v", pj, err)
	}
}
