package store

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"facegate/pipeline/gallery"
)

// TestLoadLeavesOutDamagedRecords: a sample whose record fails its
// checksum is left out and named, and the rest of the gallery still loads.
func TestLoadLeavesOutDamagedRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDir(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	a, _, err := s.Enroll("김민수", true, []gallery.Sample{sample(r), sample(r)})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Enroll("이영희", true, []gallery.Sample{sample(r)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Flip one byte in one of 김민수's sample records, as a bad sector would.
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var damaged string
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bSamples).Bucket([]byte(a.ID))
		k, v := b.Cursor().First()
		damaged = string(k)
		bad := append([]byte(nil), v...)
		bad[len(bad)/2] ^= 0x40
		return b.Put(k, bad)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = OpenDir(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := s.Load()
	if err != nil {
		t.Fatalf("one damaged record failed the whole load: %v", err)
	}
	if len(d.People) != 2 || len(d.Samples) != 2 {
		t.Errorf("loaded %d people and %d samples, want 2 and 2", len(d.People), len(d.Samples))
	}
	for _, smp := range d.Samples {
		if smp.ID == damaged {
			t.Errorf("the damaged sample %s was loaded", damaged)
		}
	}
	if len(d.Damaged) != 1 || !strings.Contains(d.Damaged[0], damaged) {
		t.Errorf("damaged records reported: %q", d.Damaged)
	}
}
