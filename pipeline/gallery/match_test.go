package gallery

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"facegate/pipeline/frame"
)

const testModel = "test@000000000000"

func randUnit(r *rand.Rand) []float32 {
	v := make([]float32, frame.EmbeddingDim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// near returns a unit vector with cosine ≈ c to v.
func near(r *rand.Rand, v []float32, c float64) []float32 {
	w := randUnit(r)
	// remove the v component of w, then mix
	d := frame.Cosine(v, w)
	for i := range w {
		w[i] -= d * v[i]
	}
	var n float64
	for _, x := range w {
		n += float64(x) * float64(x)
	}
	s := math.Sqrt(1 - c*c)
	out := make([]float32, len(v))
	for i := range v {
		out[i] = float32(c)*v[i] + float32(s/math.Sqrt(n))*w[i]
	}
	return out
}

func emb(v []float32) frame.Embedding { return frame.Embedding{Vector: v, Model: testModel} }

// galleryOf builds people p0..p(n-1) with k samples each around a random
// identity vector; it returns the data and the identity vectors.
func galleryOf(r *rand.Rand, n, k int) (Data, [][]float32) {
	var d Data
	ids := make([][]float32, n)
	for i := range n {
		ids[i] = randUnit(r)
		p := Person{ID: NewID(), Name: fmt.Sprintf("p%d", i), Created: time.Unix(0, 0), Samples: k}
		d.People = append(d.People, p)
		for range k {
			d.Samples = append(d.Samples, Sample{ID: NewID(), PersonID: p.ID, Embedding: emb(near(r, ids[i], 0.8))})
		}
	}
	return d, ids
}

func TestDot(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 192, 193} {
		a, b := make([]float32, n), make([]float32, n)
		var want float64
		for i := range a {
			a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			want += float64(a[i]) * float64(b[i])
		}
		if got := dot(a, b); math.Abs(float64(got)-want) > 1e-4 {
			t.Errorf("dot len %d = %v, want %v", n, got, want)
		}
	}
}

func TestDotFastAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 3))
	for _, n := range []int{0, 1, 31, 32, 33, 64, 191, 192, 200, 1024} {
		a, b := make([]float32, n), make([]float32, n+5)
		for i := range a {
			a[i] = float32(r.NormFloat64())
		}
		for i := range b {
			b[i] = float32(r.NormFloat64())
		}
		want := dot(a, b[:n])
		if got := dotFast(a, b); math.Abs(float64(got-want)) > 1e-4*math.Sqrt(float64(n)+1) {
			t.Errorf("len %d: dotFast %v, dot %v", n, got, want)
		}
	}
}

func TestMatchNamesTheRightPerson(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d, ids := galleryOf(r, 50, 3)
	for _, mode := range []Mode{BestSample, Centroid} {
		p := DefaultPolicy()
		p.Mode = mode
		s := Build(d, testModel, p)
		if st := s.Stats(); st.People != 50 || st.Samples != 150 || st.Matched != 50 {
			t.Fatalf("%v: stats %+v", mode, st)
		}
		for i, id := range ids {
			res := s.Match(emb(near(r, id, 0.75)))
			if !res.Known || res.Name != fmt.Sprintf("p%d", i) {
				t.Errorf("%v: identity %d: %+v", mode, i, res)
			}
			if res.Runner >= res.Similarity {
				t.Errorf("%v: runner-up %v not below best %v", mode, res.Runner, res.Similarity)
			}
		}
		// a stranger: random vector, cosine ~0 to everyone
		res := s.Match(emb(randUnit(r)))
		if res.Known || res.Name != "" || res.PersonID != "" || res.Nearest == "" {
			t.Errorf("%v: stranger %+v", mode, res)
		}
	}
}

func TestMatchRunnerUpIsAnotherPerson(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	v := randUnit(r)
	a, b := Person{ID: "a", Name: "A"}, Person{ID: "b", Name: "B"}
	d := Data{People: []Person{a, b}, Samples: []Sample{
		{PersonID: "a", Embedding: emb(near(r, v, 0.9))},
		{PersonID: "a", Embedding: emb(near(r, v, 0.95))},
		{PersonID: "b", Embedding: emb(near(r, v, 0.5))},
	}}
	res := Build(d, testModel, DefaultPolicy()).Match(emb(v))
	if res.Name != "A" || math.Abs(float64(res.Runner)-0.5) > 0.01 || res.Similarity < 0.94 {
		t.Fatalf("got %+v, want A with runner-up ≈ 0.5", res)
	}
	p := DefaultPolicy()
	p.Margin = 0.5
	if res := Build(d, testModel, p).Match(emb(v)); res.Known {
		t.Fatalf("margin 0.5 should refuse a lead of ≈0.45: %+v", res)
	}
}

func TestOtherModelsAreNeverCompared(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	v := randUnit(r)
	d := Data{People: []Person{{ID: "a", Name: "A"}}, Samples: []Sample{
		{PersonID: "a", Embedding: frame.Embedding{Vector: v, Model: "other@1"}},
		{PersonID: "a", Embedding: frame.Embedding{Vector: v[:100], Model: testModel}},
	}, Ignored: []Ignored{{Embedding: frame.Embedding{Vector: v, Model: "other@1"}}}}
	s := Build(d, testModel, DefaultPolicy())
	if st := s.Stats(); st.OtherModel != 3 || st.Samples != 0 || st.Matched != 0 || st.People != 1 {
		t.Fatalf("stats %+v", st)
	}
	if res := s.Match(emb(v)); res.Known {
		t.Fatalf("matched a sample of another model: %+v", res)
	}
	if res := s.Match(frame.Embedding{Vector: v, Model: "other@1"}); !res.Mismatch || res.Known {
		t.Fatalf("probe of another model: %+v", res)
	}
}

func TestIgnoredSuppresses(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	d, ids := galleryOf(r, 5, 2)
	stranger := near(r, ids[0], 0.6) // confusable with p0
	probe := near(r, stranger, 0.9)
	s := Build(d, testModel, DefaultPolicy())
	if res := s.Match(emb(probe)); !res.Known || res.Name != "p0" {
		t.Skipf("setup: the stranger is not confused with p0 (%+v)", res)
	}
	d.Ignored = []Ignored{{ID: "x", Embedding: emb(stranger)}}
	s = Build(d, testModel, DefaultPolicy())
	if res := s.Match(emb(probe)); res.Known || !res.Ignored {
		t.Fatalf("ignored face did not suppress: %+v", res)
	}
	// p0 themself is still named: nearer to p0 than to the ignored face
	if res := s.Match(emb(near(r, ids[0], 0.85))); !res.Known || res.Name != "p0" {
		t.Fatalf("ignored face suppressed the real person: %+v", res)
	}
}

func TestThresholdRisesWithGallery(t *testing.T) {
	p := DefaultPolicy()
	prev := p.Threshold(0)
	if p.Threshold(1) != prev {
		t.Fatalf("0 and 1 people differ")
	}
	for _, n := range []int{2, 10, 50, 100, 422, 10000} {
		th := p.Threshold(n)
		if th <= prev {
			t.Fatalf("threshold(%d)=%v not above %v", n, th, prev)
		}
		prev = th
	}
	// the slope reproduces RECOGNITION.md's rise from 50 to 422 people (0.51 → 0.57)
	if rise := p.Threshold(422) - p.Threshold(50); math.Abs(float64(rise)-0.06) > 0.005 {
		t.Fatalf("rise 50→422 people = %v, want ≈ 0.06", rise)
	}
	p.Fixed = 0.7
	if p.Threshold(1000) != 0.7 {
		t.Fatalf("fixed threshold not used")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	d, ids := galleryOf(r, 20, 3)
	m := NewMatcher(Build(d, testModel, DefaultPolicy()))
	q := emb(ids[3])
	if n := testing.AllocsPerRun(100, func() { m.Match(q) }); n != 0 {
		t.Fatalf("Match allocates %v times", n)
	}
}

func benchMatch(b *testing.B, mode Mode, people, per int) {
	r := rand.New(rand.NewPCG(13, 14))
	d, ids := galleryOf(r, people, per)
	p := DefaultPolicy()
	p.Mode = mode
	m := NewMatcher(Build(d, testModel, p))
	q := emb(near(r, ids[7], 0.7))
	b.ResetTimer()
	for b.Loop() {
		m.Match(q)
	}
}

// BenchmarkDot192 is one comparison, vectorised where the CPU allows.
func BenchmarkDot192(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, y := randUnit(r), randUnit(r)
	var s float32
	for b.Loop() {
		s += dotFast(x, y)
	}
	_ = s
}

// BenchmarkMatch10k is the budget of DESIGN.md: one face against 10,000 samples.
func BenchmarkMatch10kBestSample(b *testing.B) { benchMatch(b, BestSample, 2000, 5) }

// BenchmarkMatch10kCentroid: the same gallery, 2,000 people × 5 samples, by centroid.
func BenchmarkMatch10kCentroid(b *testing.B) { benchMatch(b, Centroid, 2000, 5) }

// BenchmarkMatch10kPeople: 10,000 people with one sample each.
func BenchmarkMatch10kPeople(b *testing.B) { benchMatch(b, BestSample, 10000, 1) }
