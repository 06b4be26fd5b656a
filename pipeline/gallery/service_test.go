package gallery

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"facegate/pipeline/frame"
)

// memStore is an in-memory Store that counts its writes.
type memStore struct {
	mu      sync.Mutex
	people  map[string]Person
	samples map[string][]Sample
	ignored []Ignored
	writes  int
}

func newMemStore() *memStore {
	return &memStore{people: map[string]Person{}, samples: map[string][]Sample{}}
}

func (m *memStore) Load() (Data, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var d Data
	for id, p := range m.people {
		d.People = append(d.People, p)
		d.Samples = append(d.Samples, m.samples[id]...)
	}
	d.Ignored = append(d.Ignored, m.ignored...)
	return d, nil
}

func (m *memStore) byName(n string) (Person, bool) {
	for _, p := range m.people {
		if p.Name == n {
			return p, true
		}
	}
	return Person{}, false
}

func (m *memStore) Enroll(name string, mustBeNew bool, samples []Sample) (Person, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	p, ok := m.byName(name)
	if ok && mustBeNew {
		return Person{}, false, ErrNameTaken
	}
	if !ok {
		p = Person{ID: NewID(), Name: name}
	}
	for _, s := range samples {
		s.PersonID = p.ID
		m.samples[p.ID] = append(m.samples[p.ID], s)
	}
	p.Samples = len(m.samples[p.ID])
	m.people[p.ID] = p
	return p, !ok, nil
}

func (m *memStore) AddSamples(id string, samples []Sample) (Person, error) {
	m.mu.Lock()
	p, ok := m.people[id]
	m.mu.Unlock()
	if !ok {
		return Person{}, ErrNotFound
	}
	p, _, err := m.Enroll(p.Name, false, samples)
	return p, err
}

func (m *memStore) Rename(id, name string) (Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	p, ok := m.people[id]
	if !ok {
		return Person{}, ErrNotFound
	}
	if o, ok := m.byName(name); ok && o.ID != id {
		return Person{}, ErrNameTaken
	}
	p.Name = name
	m.people[id] = p
	return p, nil
}

func (m *memStore) DeletePerson(id string) (Person, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	p, ok := m.people[id]
	if !ok {
		return Person{}, ErrNotFound
	}
	delete(m.people, id)
	delete(m.samples, id)
	return p, nil
}

func (m *memStore) DeleteSample(string, string) (Person, error) { return Person{}, ErrLastSample }
func (m *memStore) Samples(id string) ([]Sample, error)         { return m.samples[id], nil }
func (m *memStore) AddIgnored(ig Ignored) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ignored = append(m.ignored, ig)
	return nil
}
func (m *memStore) DeleteIgnored(string) error { return ErrNotFound }

// fakeImage is an image whose faces the fake vision knows.
type fakeImage struct {
	image.Image
	faces []fakeFace
	tight bool // found only on a padded canvas
}

type fakeFace struct {
	box  frame.Box
	vec  []float32
	poor string
}

type fakeVision struct {
	last  map[image.Image]*fakeImage // padded canvas → original
	calls int
	sizes []image.Point // of every image searched
	scale float32       // canvas pixels per original pixel of the last padded search
}

func (v *fakeVision) lookup(img image.Image) (*fakeImage, bool) {
	if fi, ok := img.(*fakeImage); ok {
		return fi, false
	}
	return v.last[nil], true // the service's padded canvas of the last image
}

func (v *fakeVision) Faces(img image.Image) ([]frame.Face, error) {
	v.calls++
	v.sizes = append(v.sizes, img.Bounds().Size())
	fi, padded := v.lookup(img)
	if fi == nil {
		return nil, nil
	}
	if v.last == nil {
		v.last = map[image.Image]*fakeImage{}
	}
	v.last[nil] = fi
	if fi.tight && !padded {
		return nil, nil
	}
	var out []frame.Face
	for _, f := range fi.faces {
		out = append(out, frame.Face{Box: v.onCanvas(img, fi, f.box, padded), Score: 0.9})
	}
	return out, nil
}

// onCanvas maps a face box of the original onto the image searched.
func (v *fakeVision) onCanvas(img image.Image, fi *fakeImage, b frame.Box, padded bool) frame.Box {
	if !padded {
		return b
	}
	k := float32(img.Bounds().Dx()/2) / float32(fi.Bounds().Dx())
	w, h := img.Bounds().Dx()/2, img.Bounds().Dy()/2
	return frame.Box{X: b.X*k + float32(w/2), Y: b.Y*k + float32(h/2), W: b.W * k, H: b.H * k}
}

func (v *fakeVision) Describe(img image.Image, f frame.Face) (Described, error) {
	fi, padded := v.lookup(img)
	for _, ff := range fi.faces {
		if v.onCanvas(img, fi, ff.box, padded) == f.Box {
			return Described{Embedding: emb(ff.vec), Face: image.NewRGBA(image.Rect(0, 0, 112, 112)), Quality: 0.8, Poor: ff.poor}, nil
		}
	}
	return Described{}, errors.New("fake: unknown face")
}

func (v *fakeVision) Model() string { return testModel }

func newImage(faces ...fakeFace) *fakeImage {
	return &fakeImage{Image: image.NewGray(image.Rect(0, 0, 200, 100)), faces: faces}
}

func TestEnrollImagesReasons(t *testing.T) {
	st := newMemStore()
	v := &fakeVision{}
	svc, err := New(st, nil, v, Options{Now: func() time.Time { return time.Unix(100, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(20, 20))
	id := randUnit(r)
	small, big := frame.Box{X: 1, Y: 1, W: 10, H: 10}, frame.Box{X: 50, Y: 20, W: 40, H: 40}
	tight := newImage(fakeFace{box: frame.Box{X: 0, Y: 0, W: 100, H: 100}, vec: near(r, id, 0.8)})
	tight.tight = true
	imgs := []Image{
		{"none", newImage()},
		{"two", newImage(fakeFace{box: small, vec: randUnit(r)}, fakeFace{box: big, vec: near(r, id, 0.8)})},
		{"poor", newImage(fakeFace{box: big, vec: near(r, id, 0.8), poor: "too blurred"})},
		{"good", newImage(fakeFace{box: big, vec: near(r, id, 0.8)})},
		{"tight", tight},
	}
	var changes []Change
	svc.OnChange(func(c Change) { changes = append(changes, c) })
	e, err := svc.EnrollImages(context.Background(), "  김민수 ", imgs, SourceCLI, EnrollOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []error{ErrNoFace, ErrManyFaces, ErrPoorFace, nil, nil}
	for i, res := range e.Results {
		if res.Label != imgs[i].Label || !errors.Is(res.Err, want[i]) || (want[i] == nil) != (res.SampleID != "") {
			t.Errorf("%s: %+v, want %v", imgs[i].Label, res, want[i])
		}
	}
	if e.Results[4].Box != (frame.Box{X: 0, Y: 0, W: 100, H: 100}) {
		t.Errorf("box of the padded retry not in the original's pixels: %+v", e.Results[4].Box)
	}
	if !e.Created || e.Person.Name != "김민수" || e.Person.Samples != 2 || st.writes != 1 {
		t.Fatalf("enrollment %+v, %d store writes", e.Person, st.writes)
	}
	if len(changes) != 1 || changes[0].Kind != ChangeEnrolled || changes[0].Person.ID != e.Person.ID {
		t.Fatalf("changes %+v", changes)
	}
	if _, ok := changes[0].Snapshot.Person(e.Person.ID); !ok {
		t.Fatal("the change was announced before the snapshot had the person")
	}
	for _, sm := range st.samples[e.Person.ID] {
		if len(sm.Face) < 100 || sm.Face[0] != 0xff || sm.Face[1] != 0xd8 || sm.Source != SourceCLI || !sm.Time.Equal(time.Unix(100, 0)) {
			t.Fatalf("stored sample %+v", sm)
		}
	}

	// a large tight photo is retried on a reduced canvas, and its box still
	// comes back in the photo's own pixels
	huge := &fakeImage{Image: image.NewGray(image.Rect(0, 0, 4000, 3000)), tight: true,
		faces: []fakeFace{{box: frame.Box{X: 1000, Y: 500, W: 2000, H: 2000}, vec: near(r, id, 0.8)}}}
	v.sizes = nil
	e2, err := svc.EnrollImages(context.Background(), "김민수", []Image{{"huge", huge}}, SourceCLI, EnrollOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := e2.Results[0].Box; math.Abs(float64(got.X-1000)) > 2 || math.Abs(float64(got.W-2000)) > 4 {
		t.Errorf("huge tight photo: box %+v, want {1000 500 2000 2000}", got)
	}
	if len(v.sizes) != 2 || v.sizes[1].X > maxCanvas || v.sizes[1].Y > maxCanvas {
		t.Errorf("searched sizes %v: the retry canvas is not bounded by %d", v.sizes, maxCanvas)
	}
	// Largest takes the bigger face of the two-face photo
	e, err = svc.EnrollImages(context.Background(), "Two", imgs[1:2], SourceUpload, EnrollOptions{Largest: true, New: true})
	if err != nil || e.Results[0].Box != big {
		t.Fatalf("largest: %+v %v", e.Results, err)
	}
	// all refused: nothing written, the reasons still returned
	before := st.writes
	e, err = svc.EnrollImages(context.Background(), "Nobody", imgs[:3], SourceUpload, EnrollOptions{})
	if !errors.Is(err, ErrNothingEnrolled) || len(e.Results) != 3 || st.writes != before {
		t.Fatalf("all refused: %v, %d results, %d writes", err, len(e.Results), st.writes-before)
	}
	if _, err := svc.EnrollImages(context.Background(), norm.NFD.String("김민수"), imgs[3:4], SourceUpload, EnrollOptions{New: true}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("new person with a taken name: %v", err)
	}
	if _, err := svc.EnrollImages(context.Background(), "", imgs[3:4], SourceUpload, EnrollOptions{}); !errors.Is(err, ErrBadName) {
		t.Fatalf("empty name: %v", err)
	}

	// identify the enrolled person in a new photo; a stranger stays unknown
	got, err := svc.Identify(context.Background(), newImage(fakeFace{box: big, vec: near(r, id, 0.8)}, fakeFace{box: small, vec: randUnit(r)}))
	if err != nil || len(got) != 2 {
		t.Fatalf("identify: %+v %v", got, err)
	}
	if !got[0].Result.Known || got[0].Result.Name != "김민수" || got[1].Result.Known || got[1].Result.Name != "" {
		t.Fatalf("identify: %+v", got)
	}
}

func TestServiceWritesAnnounceInOrder(t *testing.T) {
	st := newMemStore()
	svc, err := New(st, nil, nil, Options{Model: testModel})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	gen := svc.Matcher().Generation()
	remove := svc.OnChange(func(c Change) {
		kinds = append(kinds, fmt.Sprintf("%s:%s", c.Kind, c.Person.Name))
		if g := svc.Matcher().Generation(); g <= gen || c.Snapshot != svc.Snapshot() {
			t.Errorf("generation %d after %d, or the change's snapshot is not the current one", g, gen)
		} else {
			gen = g
		}
	})
	r := rand.New(rand.NewPCG(21, 21))
	ctx := context.Background()
	a, err := svc.EnrollSamples(ctx, "Ann", []Sample{{Embedding: emb(randUnit(r))}}, EnrollOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnrollSamples(ctx, "Ann", []Sample{{Embedding: frame.Embedding{Vector: randUnit(r), Model: "other"}}}, EnrollOptions{}); !errors.Is(err, ErrModelMismatch) {
		t.Fatalf("sample of another model: %v", err)
	}
	if _, err := svc.AddSamples(ctx, a.Person.ID, []Sample{{Embedding: emb(randUnit(r))}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rename(ctx, a.Person.ID, "Anna"); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Resolve("Anna")
	if err != nil || p.ID != a.Person.ID || p.Samples != 2 {
		t.Fatalf("resolve by name: %+v %v", p, err)
	}
	if _, err := svc.Resolve(a.Person.ID); err != nil {
		t.Fatalf("resolve by id: %v", err)
	}
	if _, err := svc.Ignore(ctx, emb(randUnit(r))); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetPolicy(Policy{Mode: Centroid, Fixed: 0.7}); err != nil {
		t.Fatal(err)
	}
	if th := svc.Snapshot().Threshold(); th != 0.7 {
		t.Fatalf("threshold after SetPolicy %v", th)
	}
	if err := svc.SetPolicy(Policy{Fixed: 2}); err == nil {
		t.Fatal("threshold 2 accepted")
	}
	if _, err := svc.Delete(ctx, a.Person.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Delete(ctx, a.Person.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := svc.Resolve("Anna"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolve deleted: %v", err)
	}
	remove()
	if _, err := svc.EnrollSamples(ctx, "Bob", []Sample{{Embedding: emb(randUnit(r))}}, EnrollOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "[enrolled:Ann samples_added:Ann renamed:Anna ignored: policy: deleted:Anna]"
	if got := fmt.Sprint(kinds); got != want {
		t.Fatalf("changes %s, want %s", got, want)
	}
	if len(svc.People()) != 1 || svc.Snapshot().Stats().Ignored != 1 {
		t.Fatalf("people %+v, stats %+v", svc.People(), svc.Snapshot().Stats())
	}
}
