package pipeline

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"facegate/pipeline/frame"
)

const fakeModel = "fake@1"

// sceneFace is a face in a synthetic scene: where it is and whose it is.
type sceneFace struct {
	box frame.Box
	vec []float32 // the identity the fake embedder reports, before noise
}

// scene says which faces are visible in frame seq.
type scene func(seq uint64) []sceneFace

// unitVec returns a random unit vector.
func unitVec(r *rand.Rand) []float32 {
	v := make([]float32, frame.EmbeddingDim)
	var n float64
	for i := range v {
		x := r.NormFloat64()
		v[i] = float32(x)
		n += x * x
	}
	s := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= s
	}
	return v
}

// fakeDetector reports the scene's faces.
type fakeDetector struct{ scene scene }

func (d *fakeDetector) Detect(f *frame.Frame, dst []frame.Face) ([]frame.Face, error) {
	for _, sf := range d.scene(f.Seq) {
		b := sf.box
		face := frame.Face{Box: b, Score: 0.9}
		face.Keypoints[frame.RightEye] = frame.Point{X: b.X + 0.3*b.W, Y: b.Y + 0.4*b.H}
		face.Keypoints[frame.LeftEye] = frame.Point{X: b.X + 0.7*b.W, Y: b.Y + 0.4*b.H}
		dst = append(dst, face)
	}
	return dst, nil
}

// fakeEmbedder reports the identity vector of the scene face at the box,
// with a little deterministic noise.
type fakeEmbedder struct {
	scene scene
	noise float32
}

func (e *fakeEmbedder) Model() string { return fakeModel }

func (e *fakeEmbedder) Embed(f *frame.Frame, face frame.Face, aligned []byte, vec []float32) error {
	for _, sf := range e.scene(f.Seq) {
		if sf.box != face.Box {
			continue
		}
		var n float32
		for i := range vec {
			// A cheap hash of (seq, i) in [-1, 1).
			h := uint32(f.Seq*2654435761) ^ uint32(i*40503)
			h ^= h >> 13
			h *= 0x5bd1e995
			h ^= h >> 15
			vec[i] = sf.vec[i] + e.noise*(float32(h%2000)/1000-1)/float32(math.Sqrt(frame.EmbeddingDim))
			n += vec[i] * vec[i]
		}
		s := 1 / float32(math.Sqrt(float64(n)))
		for i := range vec {
			vec[i] *= s
		}
		for i := range aligned {
			aligned[i] = byte(f.Seq)
		}
		return nil
	}
	return io.ErrUnexpectedEOF
}

// fakeGallery is a copy-on-write gallery with a generation, like the real
// one: Match reads an immutable map through an atomic pointer.
type fakeGallery struct {
	thr  float32
	cur  atomic.Pointer[map[string]fakePerson]
	gen  atomic.Uint64
	mu   sync.Mutex // serialises writers
	seen sync.Map   // every person id that ever existed
}

type fakePerson struct {
	name string
	vec  []float32
}

func newFakeGallery() *fakeGallery {
	g := &fakeGallery{thr: 0.6}
	m := map[string]fakePerson{}
	g.cur.Store(&m)
	return g
}

func (g *fakeGallery) put(id, name string, vec []float32) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := *g.cur.Load()
	m := make(map[string]fakePerson, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[id] = fakePerson{name, vec}
	g.seen.Store(id, name)
	g.cur.Store(&m)
	g.gen.Add(1)
}

func (g *fakeGallery) del(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := *g.cur.Load()
	m := make(map[string]fakePerson, len(old))
	for k, v := range old {
		if k != id {
			m[k] = v
		}
	}
	g.cur.Store(&m)
	g.gen.Add(1)
}

func (g *fakeGallery) Generation() uint64 { return g.gen.Load() }

func (g *fakeGallery) Match(e frame.Embedding) Match {
	best := Match{Similarity: -1}
	if e.Model != fakeModel {
		return best
	}
	for id, p := range *g.cur.Load() {
		if s := frame.Cosine(e.Vector, p.vec); s > best.Similarity {
			best = Match{PersonID: id, Name: p.name, Similarity: s}
		}
	}
	if best.Similarity >= g.thr {
		best.Known = true
	} else {
		best.PersonID, best.Name = "", ""
	}
	return best
}

// noGeneration hides the Generation method, so only refreshes re-match.
type noGeneration struct{ g *fakeGallery }

func (n noGeneration) Match(e frame.Embedding) Match { return n.g.Match(e) }

// fakeSource plays frames 1..n of a scene clock at 15 frames/s, then
// returns end (io.EOF when nil). The clock continues across reopens.
type fakeSource struct {
	name   string
	clock  *atomic.Uint64 // last seq, shared across opens
	n      int            // frames this open; < 0: forever
	end    error
	f      frame.Frame
	played int
	closed atomic.Int32
	onNext func(seq uint64) // called before a frame is returned
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const frameStep = time.Second / 15

func seqTime(seq uint64) time.Time { return epoch.Add(time.Duration(seq) * frameStep) }

func newFakeSource(clock *atomic.Uint64, n int, end error) *fakeSource {
	return &fakeSource{
		name: "cam", clock: clock, n: n, end: end,
		f: frame.Frame{Pix: make([]byte, 64*48*3), Width: 64, Height: 48, Stride: 64 * 3},
	}
}

func (s *fakeSource) Name() string { return s.name }

func (s *fakeSource) Next(ctx context.Context) (*frame.Frame, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.n >= 0 && s.played >= s.n {
		if s.end == nil {
			return nil, io.EOF
		}
		return nil, s.end
	}
	s.played++
	seq := s.clock.Add(1)
	if s.onNext != nil {
		s.onNext(seq)
	}
	s.f.Seq, s.f.Time = seq, seqTime(seq)
	return &s.f, nil
}

func (s *fakeSource) Close() error {
	s.closed.Add(1)
	return nil
}

func count(evs []Event, typ EventType) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func newRand() *rand.Rand { return rand.New(rand.NewPCG(99, 100)) }
