package store

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"facegate/pipeline/gallery"
)

// BenchmarkLoadBuild10k is the cost of the snapshot rebuild after each
// gallery write: load 2,000 people × 5 samples from bbolt and build.
func BenchmarkLoadBuild10k(b *testing.B) {
	s, err := OpenDir(b.TempDir(), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(40, 40))
	for i := range 2000 {
		samples := make([]gallery.Sample, 5)
		for j := range samples {
			samples[j] = sample(r)
			samples[j].Face = make([]byte, 4000) // a typical 112×112 JPEG
		}
		if _, _, err := s.Enroll(fmt.Sprintf("person %d", i), true, samples); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Load(); err != nil {
				b.Fatal(err)
			}
		}
	})
	d, err := s.Load()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			gallery.Build(d, testModel, gallery.DefaultPolicy())
		}
	})
}
