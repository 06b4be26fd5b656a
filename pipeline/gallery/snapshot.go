package gallery

import (
	"math"
	"sort"
	"sync/atomic"

	"facegate/pipeline/frame"
)

// Stats describes what a snapshot holds and what it left out.
type Stats struct {
	Model   string `json:"model"`   // the model whose embeddings are compared
	People  int    `json:"people"`  // enrolled people
	Matched int    `json:"matched"` // people with at least one usable sample
	Samples int    `json:"samples"` // usable samples
	Ignored int    `json:"ignored"` // usable ignored faces
	// OtherModel counts samples and ignored faces made by another model (or
	// with another length): they are kept in the store but never compared,
	// because similarities across models mean nothing. Re-enroll to use them.
	OtherModel int `json:"other_model"`
}

// Snapshot is an immutable gallery: safe for any number of goroutines, never
// changed after Build. Vectors live in one contiguous slice so a search is a
// straight walk through memory.
type Snapshot struct {
	model  string
	dim    int
	policy Policy

	people []Person       // sorted by name, then ID
	byID   map[string]int // ID → index in people
	byName map[string]int // NFC name → index in people

	vecs    []float32 // usable samples, dim floats each
	owner   []int32   // person index of each sample
	cents   []float32 // per person with samples: normalised mean, dim floats each
	centOwn []int32   // person index of each centroid
	ign     []float32 // ignored faces, dim floats each

	stats Stats
}

// Build makes a snapshot from d, comparing only embeddings of model (and of
// frame.EmbeddingDim length). Samples of unknown people are dropped.
func Build(d Data, model string, p Policy) *Snapshot {
	dim := frame.EmbeddingDim
	s := &Snapshot{
		model:  model,
		dim:    dim,
		policy: p,
		people: append([]Person(nil), d.People...),
		byID:   make(map[string]int, len(d.People)),
		byName: make(map[string]int, len(d.People)),
	}
	sort.Slice(s.people, func(i, j int) bool {
		a, b := s.people[i], s.people[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	for i, pr := range s.people {
		s.byID[pr.ID] = i
		s.byName[pr.Name] = i
	}
	usable := func(e frame.Embedding) bool {
		return e.Model == model && len(e.Vector) == dim
	}
	// Group samples by person so each person's vectors are adjacent
	// (centroids in one pass, and a cache-friendly walk).
	type ref struct{ sample, person int }
	refs := make([]ref, 0, len(d.Samples))
	for i, sm := range d.Samples {
		pi, ok := s.byID[sm.PersonID]
		if !ok {
			continue
		}
		if !usable(sm.Embedding) {
			s.stats.OtherModel++
			continue
		}
		refs = append(refs, ref{i, pi})
	}
	sort.SliceStable(refs, func(a, b int) bool { return refs[a].person < refs[b].person })
	s.vecs = make([]float32, len(refs)*dim)
	s.owner = make([]int32, len(refs))
	for k, rf := range refs {
		copy(s.vecs[k*dim:(k+1)*dim], d.Samples[rf.sample].Embedding.Vector)
		s.owner[k] = int32(rf.person)
	}
	s.buildCentroids()
	for _, ig := range d.Ignored {
		if !usable(ig.Embedding) {
			s.stats.OtherModel++
			continue
		}
		s.ign = append(s.ign, ig.Embedding.Vector...)
	}
	s.stats.Model = model
	s.stats.People = len(s.people)
	s.stats.Matched = len(s.centOwn)
	s.stats.Samples = len(s.owner)
	s.stats.Ignored = len(s.ign) / dim
	return s
}

func (s *Snapshot) buildCentroids() {
	dim := s.dim
	people := 0
	for i, o := range s.owner {
		if i == 0 || o != s.owner[i-1] {
			people++
		}
	}
	s.cents = make([]float32, 0, people*dim)
	s.centOwn = make([]int32, 0, people)
	for start := 0; start < len(s.owner); {
		end := start
		for end < len(s.owner) && s.owner[end] == s.owner[start] {
			end++
		}
		s.cents = s.cents[:len(s.cents)+dim]
		c := s.cents[len(s.cents)-dim:]
		for k := start; k < end; k++ {
			v := s.vecs[k*dim : (k+1)*dim]
			for j := range c {
				c[j] += v[j]
			}
		}
		var n float64
		for _, x := range c {
			n += float64(x) * float64(x)
		}
		if n > 0 {
			inv := float32(1 / math.Sqrt(n))
			for j := range c {
				c[j] *= inv
			}
		}
		s.centOwn = append(s.centOwn, s.owner[start])
		start = end
	}
}

// Model is the identity of the model whose embeddings this snapshot compares.
func (s *Snapshot) Model() string { return s.model }

// Policy is the decision rule of this snapshot.
func (s *Snapshot) Policy() Policy { return s.policy }

// Stats describes the snapshot.
func (s *Snapshot) Stats() Stats { return s.stats }

// Threshold is the similarity a face must reach to be named in this gallery.
func (s *Snapshot) Threshold() float32 { return s.policy.Threshold(s.stats.Matched) }

// People returns a copy of the enrolled people, sorted by name.
func (s *Snapshot) People() []Person { return append([]Person(nil), s.people...) }

// Person returns the person with this ID.
func (s *Snapshot) Person(id string) (Person, bool) {
	i, ok := s.byID[id]
	if !ok {
		return Person{}, false
	}
	return s.people[i], true
}

// PersonByName returns the person with this (normalised) name.
func (s *Snapshot) PersonByName(name string) (Person, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Person{}, false
	}
	return s.people[i], true
}

// Matcher hands out the current snapshot. Readers load an atomic pointer and
// never lock; a writer builds a new snapshot and swaps it in.
type Matcher struct {
	cur atomic.Pointer[Snapshot]
	gen atomic.Uint64 // swaps so far
}

// NewMatcher returns a matcher holding s (an empty gallery when s is nil).
func NewMatcher(s *Snapshot) *Matcher {
	if s == nil {
		s = Build(Data{}, "", DefaultPolicy())
	}
	m := &Matcher{}
	m.cur.Store(s)
	return m
}

// Snapshot returns the current snapshot.
func (m *Matcher) Snapshot() *Snapshot { return m.cur.Load() }

// Swap makes s the current snapshot.
func (m *Matcher) Swap(s *Snapshot) {
	m.cur.Store(s)
	m.gen.Add(1) // after the store: whoever sees the new count sees s
}

// Generation counts the swaps, so a reader (the pipeline's runner) can tell
// cheaply that the gallery changed, even between snapshots swapped in by
// hand.
func (m *Matcher) Generation() uint64 { return m.gen.Load() }

// Match compares e with the current snapshot.
func (m *Matcher) Match(e frame.Embedding) Result { return m.cur.Load().Match(e) }
