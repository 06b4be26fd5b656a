package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// near returns a unit vector with cosine c to the unit vector v.
func near(r *rand.Rand, v []float32, c float64) []float32 {
	w := unit(r)
	d := frame.Cosine(v, w)
	var n float64
	for i := range w {
		w[i] -= d * v[i]
		n += float64(w[i]) * float64(w[i])
	}
	k := float32(math.Sqrt(1-c*c) / math.Sqrt(n))
	out := make([]float32, len(v))
	for i := range v {
		out[i] = float32(c)*v[i] + k*w[i]
	}
	return out
}

// fakeVision recognises images made by img(): each holds one face whose
// embedding is registered in the map.
type fakeVision struct {
	mu   sync.Mutex
	embs map[image.Image][]float32
}

func (f *fakeVision) img(v []float32) image.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	im := image.NewRGBA(image.Rect(0, 0, 64, 64))
	f.embs[im] = v
	return im
}

func (f *fakeVision) Faces(img image.Image) ([]frame.Face, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.embs[img]; !ok {
		return nil, nil
	}
	return []frame.Face{{Box: frame.Box{X: 10, Y: 10, W: 40, H: 40}, Score: 0.9}}, nil
}

func (f *fakeVision) Describe(img image.Image, _ frame.Face) (gallery.Described, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return gallery.Described{Embedding: frame.Embedding{Vector: f.embs[img], Model: testModel},
		Face: image.NewRGBA(image.Rect(0, 0, 112, 112)), Quality: 0.9}, nil
}

func (f *fakeVision) Model() string { return testModel }

func names(t *testing.T, svc *gallery.Service, imgs []image.Image) []string {
	t.Helper()
	var out []string
	for _, im := range imgs {
		ids, err := svc.Identify(context.Background(), im)
		if err != nil || len(ids) != 1 {
			t.Fatalf("identify: %v %v", ids, err)
		}
		out = append(out, ids[0].Result.Name)
	}
	return out
}

// TestBackupRestoreRoundTrip: enroll → backup → forget → restore →
// identify gives the same names; damaged backups are refused and leave
// the live store as it was.
func TestBackupRestoreRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenDir(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fv := &fakeVision{embs: map[image.Image][]float32{}}
	svc, err := gallery.New(st, nil, fv, gallery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	people := []string{"김민수", "Ann", "Zoë", "Bob", "이서연"}
	var probes []image.Image
	for _, n := range people {
		id := unit(r)
		e, err := svc.EnrollImages(context.Background(), n, []gallery.Image{{Label: "a", Img: fv.img(near(r, id, 0.8))}, {Label: "b", Img: fv.img(near(r, id, 0.8))}}, gallery.SourceCLI, gallery.EnrollOptions{New: true})
		if err != nil || !e.Created || e.Person.Samples != 2 {
			t.Fatalf("enroll %s: %+v %v", n, e, err)
		}
		probes = append(probes, fv.img(near(r, id, 0.8)))
	}
	stranger := fv.img(unit(r))
	before := append(names(t, svc, probes), names(t, svc, []image.Image{stranger})...)
	if fmt.Sprint(before) != fmt.Sprint(append(people, "")) {
		t.Fatalf("before backup: %q", before)
	}

	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := st.BackupFile(backup); err != nil {
		t.Fatal(err)
	}
	for _, n := range people[:3] {
		p, err := svc.Resolve(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Delete(context.Background(), p.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := names(t, svc, probes); got[0] != "" || got[3] != "Bob" {
		t.Fatalf("after forget: %q", got)
	}

	// damaged backups: refused, live store untouched
	good, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Clone(good)
	for i := 2 * 4096; i < min(len(garbage), 6*4096); i++ {
		garbage[i] = 0xab
	}
	foreign := filepath.Join(t.TempDir(), "foreign.db")
	fdb, err := bolt.Open(foreign, 0o600, nil) // a bbolt file, not a facegate store
	if err != nil {
		t.Fatal(err)
	}
	fdb.Close()
	foreignBytes, err := os.ReadFile(foreign)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"truncated":   good[:len(good)/2],
		"overwritten": garbage,
		"empty":       nil,
		"text":        []byte("this is not a database"),
		"foreign":     foreignBytes,
	}
	for name, data := range cases {
		err := svc.Restore(context.Background(), bytes.NewReader(data))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s backup: %v, want ErrInvalid", name, err)
		}
		if got := names(t, svc, probes); got[0] != "" || got[3] != "Bob" || got[4] != "이서연" {
			t.Fatalf("after refused %s restore: %q", name, got)
		}
		if ps, err := st.People(); err != nil || len(ps) != 2 {
			t.Fatalf("after refused %s restore: %d people, %v", name, len(ps), err)
		}
	}
	changes := 0
	defer svc.OnChange(func(c gallery.Change) {
		if c.Kind == gallery.ChangeReloaded {
			changes++
		}
	})()
	f, err := os.Open(backup)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := svc.Restore(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if changes != 1 {
		t.Fatalf("restore announced %d times", changes)
	}
	after := append(names(t, svc, probes), names(t, svc, []image.Image{stranger})...)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after restore %q, before backup %q", after, before)
	}
	// the restored store is the live one: it survives a reopen
	st.Close()
	st2, err := OpenDir(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if ps, _ := st2.People(); len(ps) != 5 {
		t.Fatalf("after reopen: %d people", len(ps))
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*restore*")); len(matches) != 0 {
		t.Fatalf("restore left files behind: %v", matches)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.db")
	s, err := Open(p, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.update(func(tx *bolt.Tx) error { return putSchema(tx, SchemaVersion+1) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := Validate(p); !errors.Is(err, ErrInvalid) {
		t.Fatalf("newer schema: %v, want ErrInvalid", err)
	}
	p2 := filepath.Join(dir, "y.db")
	s, err = Open(p2, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := Validate(p2); err != nil {
		t.Fatalf("a fresh store does not validate: %v", err)
	}
	if err := Validate(filepath.Join(dir, "missing.db")); err == nil {
		t.Fatal("missing file validated")
	}
}

// TestConcurrentEnrollMatch: one goroutine enrolls and deletes people
// continuously while four match at full speed. No race, no panic, and every
// match names a person who existed at some moment, with the right name.
func TestConcurrentEnrollMatch(t *testing.T) {
	st := openTest(t)
	svc, err := gallery.New(st, nil, nil, gallery.Options{Model: testModel})
	if err != nil {
		t.Fatal(err)
	}
	m := svc.Matcher()
	const identities = 12
	seed := rand.New(rand.NewPCG(8, 8))
	ids := make([][]float32, identities)
	for i := range ids {
		ids[i] = unit(seed)
	}
	type person struct {
		name     string
		identity int
	}
	var (
		createdMu sync.Mutex
		created   = map[string]person{} // person ID → who; written after commit
	)
	deadline := time.Now().Add(2 * time.Second)
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	writes := 0
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(9, 9))
		var live []string
		for gen := 0; time.Now().Before(deadline); gen++ {
			k := r.IntN(identities)
			name := fmt.Sprintf("id%d-%d", k, gen)
			samples := []gallery.Sample{
				{Embedding: frame.Embedding{Vector: near(r, ids[k], 0.85), Model: testModel}},
				{Embedding: frame.Embedding{Vector: near(r, ids[k], 0.85), Model: testModel}},
			}
			e, err := svc.EnrollSamples(ctx, name, samples, gallery.EnrollOptions{New: true})
			if err != nil {
				t.Error(err)
				return
			}
			createdMu.Lock()
			created[e.Person.ID] = person{name, k}
			createdMu.Unlock()
			live = append(live, e.Person.ID)
			if len(live) > 8 || r.IntN(3) == 0 {
				i := r.IntN(len(live))
				if _, err := svc.Delete(ctx, live[i]); err != nil {
					t.Error(err)
					return
				}
				live = append(live[:i], live[i+1:]...)
			}
			writes++
		}
	}()
	type seen struct {
		res      gallery.Result
		identity int
	}
	results := make([][]seen, 4)
	for g := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(10, uint64(g)))
			for time.Now().Before(deadline) {
				k := r.IntN(identities)
				res := m.Match(frame.Embedding{Vector: near(r, ids[k], 0.85), Model: testModel})
				if res.Known {
					results[g] = append(results[g], seen{res, k})
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, rs := range results {
		for _, s := range rs {
			p, ok := created[s.res.PersonID]
			if !ok {
				t.Fatalf("matched %q (%s), who never existed", s.res.PersonID, s.res.Name)
			}
			if p.name != s.res.Name || p.identity != s.identity {
				t.Fatalf("probe of identity %d named %q (%s), which is %+v", s.identity, s.res.Name, s.res.PersonID, p)
			}
			total++
		}
	}
	if writes < 10 || total < 100 {
		t.Fatalf("too little happened: %d writes, %d named matches", writes, total)
	}
	t.Logf("%d writes, %d named matches", writes, total)
	// the final snapshot agrees with the store
	ps, _ := st.People()
	if got := len(svc.People()); got != len(ps) {
		t.Fatalf("snapshot has %d people, store %d", got, len(ps))
	}
}
