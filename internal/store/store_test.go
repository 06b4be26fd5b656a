package store

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/text/unicode/norm"

	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

const testModel = "test@000000000000"

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := OpenDir(t.TempDir(), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func unit(r *rand.Rand) []float32 {
	v := make([]float32, frame.EmbeddingDim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i], n = float32(x), n+x*x
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(n))
	}
	return v
}

func sample(r *rand.Rand) gallery.Sample {
	return gallery.Sample{ID: gallery.NewID(), Embedding: frame.Embedding{Vector: unit(r), Model: testModel},
		Face: []byte{0xff, 0xd8, 1, 2, 3}, Quality: 0.8, Source: gallery.SourceCLI, Time: time.Unix(1700000000, 5)}
}

func TestOpenTwiceIsInUse(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDir(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = OpenDir(dir, Options{Timeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v, want ErrInUse", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.People(); !errors.Is(err, ErrClosed) {
		t.Fatalf("use after close: %v", err)
	}
	s2, err := OpenDir(dir, Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	s2.Close()
}

func TestEnrollRenameDelete(t *testing.T) {
	s := openTest(t)
	r := rand.New(rand.NewPCG(1, 1))
	p, created, err := s.Enroll("  Ann ", true, []gallery.Sample{sample(r), sample(r)})
	if err != nil || !created || p.Name != "Ann" || p.Samples != 2 || len(p.ID) != 16 {
		t.Fatalf("enroll: %+v %v %v", p, created, err)
	}
	if _, _, err := s.Enroll("Ann", true, []gallery.Sample{sample(r)}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("enroll taken name as new: %v", err)
	}
	p2, created, err := s.Enroll("Ann", false, []gallery.Sample{sample(r)})
	if err != nil || created || p2.ID != p.ID || p2.Samples != 3 {
		t.Fatalf("add to existing: %+v %v %v", p2, created, err)
	}
	if _, _, err := s.Enroll("Bob", false, nil); err == nil {
		t.Fatal("enroll without samples succeeded")
	}
	if _, err := s.PersonByName("Bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("failed enroll left a person: %v", err)
	}
	bob, _, err := s.Enroll("Bob", true, []gallery.Sample{sample(r)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rename(bob.ID, "Ann"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("rename to a taken name: %v", err)
	}
	if _, err := s.Rename(bob.ID, "Bob"); err != nil {
		t.Fatalf("rename to own name: %v", err)
	}
	if _, err := s.Rename(bob.ID, "\x07"); !errors.Is(err, gallery.ErrBadName) {
		t.Fatalf("rename to a control character: %v", err)
	}
	if _, err := s.Rename(bob.ID, "Robert"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PersonByName("Bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("old name still resolves: %v", err)
	}
	if _, _, err := s.Enroll("Bob", true, []gallery.Sample{sample(r)}); err != nil {
		t.Fatalf("old name not free after rename: %v", err)
	}

	samples, err := s.Samples(p.ID)
	if err != nil || len(samples) != 3 || string(samples[0].Face) != "\xff\xd8\x01\x02\x03" || samples[0].Source != gallery.SourceCLI {
		t.Fatalf("samples: %v %+v", err, samples)
	}
	for _, sm := range samples[:2] {
		if _, err := s.DeleteSample(p.ID, sm.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteSample(p.ID, samples[2].ID); !errors.Is(err, gallery.ErrLastSample) {
		t.Fatalf("deleting the last sample: %v", err)
	}
	if _, err := s.DeleteSample(p.ID, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleting a missing sample: %v", err)
	}
	if _, err := s.DeletePerson(p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeletePerson(p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	d, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.People) != 2 || len(d.Samples) != 2 {
		t.Fatalf("after delete: %d people, %d samples", len(d.People), len(d.Samples))
	}
	for _, sm := range d.Samples {
		if sm.Face != nil {
			t.Fatal("Load returned face images")
		}
		if sm.PersonID == p.ID {
			t.Fatal("a deleted person's sample survived")
		}
	}
	if _, _, err := s.Enroll("Ann", true, []gallery.Sample{sample(r)}); err != nil {
		t.Fatalf("deleted person's name not free: %v", err)
	}
}

func TestKoreanNamesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDir(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(2, 2))
	const name = "김민수"
	decomposed := norm.NFD.String(name) // as some keyboards send it
	if decomposed == name {
		t.Fatal("setup: NFD did not decompose")
	}
	p, _, err := s.Enroll(decomposed, true, []gallery.Sample{sample(r)})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != name {
		t.Fatalf("stored %q (% x), want %q", p.Name, p.Name, name)
	}
	if _, _, err := s.Enroll(name, true, []gallery.Sample{sample(r)}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("NFC and NFD forms are two people: %v", err)
	}
	s.Close()
	s, err = OpenDir(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.PersonByName(decomposed)
	if err != nil || got.Name != name || []byte(got.Name)[0] != 0xea {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
}

func TestSampleRecordRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	sm := sample(r)
	sm.Quality = 0.625
	b, err := encodeSample(sm)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeRecord(b, true)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Quality != sm.Quality || !rec.Time.Equal(sm.Time) || rec.Source != "cli" || rec.Emb.Model != testModel ||
		string(rec.Face) != string(sm.Face) || len(rec.Emb.Vector) != len(sm.Embedding.Vector) {
		t.Fatalf("round trip: %+v", rec)
	}
	for i := range rec.Emb.Vector {
		if rec.Emb.Vector[i] != sm.Embedding.Vector[i] {
			t.Fatalf("vector[%d] %v != %v", i, rec.Emb.Vector[i], sm.Embedding.Vector[i])
		}
	}
	for n := range len(b) - len(sm.Face) - 4 {
		if _, err := decodeRecord(b[:n], false); err == nil {
			t.Fatalf("truncated record of %d bytes decoded", n)
		}
	}
	for n := range len(b) {
		if _, err := decodeRecord(b[:n], true); err == nil {
			t.Fatalf("truncated record of %d bytes decoded with its face", n)
		}
	}
	for i := range b { // any flipped bit is caught (the face's when the face is read)
		c := bytes.Clone(b)
		c[i] ^= 0x10
		if _, err := decodeRecord(c, true); err == nil {
			t.Fatalf("record with byte %d flipped decoded", i)
		}
	}
	bad := sm
	bad.Embedding.Vector = append([]float32(nil), sm.Embedding.Vector...)
	bad.Embedding.Vector[3] = float32(math.NaN())
	if _, err := encodeSample(bad); err == nil {
		t.Fatal("NaN embedding accepted")
	}
	bad.Embedding = frame.Embedding{Vector: sm.Embedding.Vector}
	if _, err := encodeSample(bad); err == nil {
		t.Fatal("embedding without model accepted")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	r := rand.New(rand.NewPCG(4, 4))
	b, _ := encodeSample(sample(r))
	f.Add(b)
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(b, true)
		if err != nil {
			return
		}
		again, err := encodeRecord(rec.Quality, rec.Time, rec.Source, rec.Emb, rec.Face)
		if err != nil {
			return // e.g. NaN values decode but are refused on write
		}
		if rec2, err := decodeRecord(again, true); err != nil || len(rec2.Emb.Vector) != len(rec.Emb.Vector) {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}

// TestMigrateFromV1 writes a schema-1 file by hand (no name index, no API
// tokens, no event ID index; two names equal only after NFC) and opens it.
func TestMigrateFromV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 5))
	ids := []string{"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := createV1(tx); err != nil {
			return err
		}
		if err := putSchema(tx, 1); err != nil {
			return err
		}
		for i, n := range []string{"김민수", norm.NFD.String("김민수")} {
			if err := putPerson(tx.Bucket(bPeople), ids[i], personRecord{Name: n, Samples: 1}); err != nil {
				return err
			}
			if err := putSamples(tx, ids[i], []gallery.Sample{sample(r)}); err != nil {
				return err
			}
		}
		return tx.Bucket(bEvents).Put(eventKey(time.Unix(10, 0), 1), []byte(`{"id":"ev1","type":"unknown","camera":"door"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.view(func(tx *bolt.Tx) error {
		if v, _ := schemaOf(tx); v != SchemaVersion {
			t.Errorf("schema %d after migration", v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a, err := s.PersonByName("김민수")
	if err != nil || a.ID != ids[0] {
		t.Fatalf("first 김민수: %+v %v", a, err)
	}
	b, err := s.Person(ids[1])
	if err != nil || b.Name != "김민수 (2)" {
		t.Fatalf("colliding name not disambiguated: %+v %v", b, err)
	}
	if _, _, err := s.Enroll("김민수", true, []gallery.Sample{sample(r)}); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("name index not built: %v", err)
	}
	if e, err := s.Event("ev1"); err != nil || e.Camera != "door" {
		t.Fatalf("event index not built: %+v %v", e, err)
	}
	if err := s.PutAPIToken(APIToken{ID: "t", User: "u", TokenHash: []byte("h")}); err != nil {
		t.Fatalf("api_tokens bucket: %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.update(func(tx *bolt.Tx) error { return putSchema(tx, SchemaVersion+1) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("newer schema: %v, want ErrInvalid", err)
	}
}
