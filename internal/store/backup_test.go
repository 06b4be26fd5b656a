package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"facegate/pipeline/gallery"
)

// TestBackupWhileWriting takes backups while another goroutine enrolls:
// each backup is a consistent state (validates, every person has exactly
// the samples their record counts).
func TestBackupWhileWriting(t *testing.T) {
	s := openTest(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(30, 30))
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := s.Enroll("p"+string(rune('a'+i%26))+time.Now().Format("150405.000000"), false,
				[]gallery.Sample{sample(r), sample(r), sample(r)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dir := t.TempDir()
	for i := range 10 {
		var buf bytes.Buffer
		if _, err := s.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "b.db")
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Validate(p); err != nil { // checks per-person sample counts too
			t.Fatalf("backup %d taken while writing: %v", i, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
}

// TestValidateDamagedBackups damages a real backup at random places: Validate
// must never crash, and a backup it accepts must open and load.
func TestValidateDamagedBackups(t *testing.T) {
	s := openTest(t)
	r := rand.New(rand.NewPCG(31, 31))
	for i := range 40 {
		if _, _, err := s.Enroll("person "+string(rune('A'+i)), true, []gallery.Sample{sample(r), sample(r)}); err != nil {
			t.Fatal(err)
		}
	}
	var good bytes.Buffer
	if _, err := s.WriteTo(&good); err != nil {
		t.Fatal(err)
	}
	d, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := fingerprint(t, d)
	dir := t.TempDir()
	accepted := 0
	for trial := range 60 {
		b := bytes.Clone(good.Bytes())
		switch trial % 3 {
		case 0: // scribble over a random run of bytes
			off, n := r.IntN(len(b)), 1+r.IntN(512)
			for i := off; i < min(len(b), off+n); i++ {
				b[i] = byte(r.Uint32())
			}
		case 1: // cut anywhere
			b = b[:r.IntN(len(b))]
		case 2: // zero one page
			pg := 4096 * r.IntN(len(b)/4096)
			clear(b[pg:min(len(b), pg+4096)])
		}
		p := filepath.Join(dir, "damaged.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		err := Validate(p)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, os.ErrNotExist) {
				t.Logf("trial %d: %v", trial, err)
			}
			continue
		}
		accepted++
		st, err := Open(p, Options{NoSync: true})
		if err != nil {
			t.Fatalf("trial %d: validated backup does not open: %v", trial, err)
		}
		d, err := st.Load()
		if err != nil {
			t.Fatalf("trial %d: validated backup does not load: %v", trial, err)
		}
		st.Close()
		if got := fingerprint(t, d); got != want {
			t.Errorf("trial %d (damage kind %d): a validated backup holds other data", trial, trial%3)
		}
	}
	t.Logf("%d of 60 damaged copies passed validation (damage in unused space) and loaded", accepted)

	// a restore of damaged data leaves the store as it was
	if err := s.Restore(bytes.NewReader(good.Bytes()[:good.Len()/3])); !errors.Is(err, ErrInvalid) {
		t.Fatalf("restore of a third of a backup: %v", err)
	}
	if ps, err := s.People(); err != nil || len(ps) != 40 {
		t.Fatalf("after a refused restore: %d people, %v", len(ps), err)
	}
}

// fingerprint summarises gallery data independently of map order.
func fingerprint(t *testing.T, d gallery.Data) string {
	t.Helper()
	var lines []string
	for _, p := range d.People {
		lines = append(lines, fmt.Sprintf("%s %s %d %d %d", p.ID, p.Name, p.Samples, p.Created.UnixNano(), p.Updated.UnixNano()))
	}
	for _, sm := range d.Samples {
		lines = append(lines, fmt.Sprintf("%s %s %v %v %s", sm.PersonID, sm.ID, sm.Embedding.Vector, sm.Quality, sm.Source))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func FuzzCheckLayout(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(filepath.Join(dir, "seed.db"), Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	r := rand.New(rand.NewPCG(32, 32))
	if _, _, err := s.Enroll("seed", true, []gallery.Sample{sample(r)}); err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	s.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = checkLayout(b) // must return, never panic
	})
}
