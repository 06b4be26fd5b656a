package pipeline

import (
	"context"
	"fmt"

	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// Models holds one runner's interpreters: a BlazeFace detector and a
// MobileFaceNet embedder with its alignment buffer. Interpreters are not
// goroutine-safe, so every runner gets its own Models.
type Models struct {
	Det *blazeface.Detector
	Emb *facenet.Embedder

	aligned facenet.Aligned // the last face Embed aligned
}

// ModelOptions choose the models of NewModels.
type ModelOptions struct {
	Detector string  // "short" (default) or "full"
	MinScore float32 // detector minimum score; 0: the model's default
	Threads  int     // interpreter threads; 0: the runtime's choice
}

// NewModels loads the embedded detector and embedder.
func NewModels(opt ModelOptions) (*Models, error) {
	det, err := blazeface.New(blazeface.Options{Model: opt.Detector, MinScore: opt.MinScore, Threads: opt.Threads})
	if err != nil {
		return nil, err
	}
	emb, err := facenet.New(facenet.Options{Threads: opt.Threads})
	if err != nil {
		det.Close()
		return nil, err
	}
	return &Models{Det: det, Emb: emb}, nil
}

// Close releases both interpreters. It is idempotent.
func (m *Models) Close() {
	m.Det.Close()
	m.Emb.Close()
}

// Detect implements Detector.
func (m *Models) Detect(f *frame.Frame, dst []frame.Face) ([]frame.Face, error) {
	return m.Det.Detect(f, dst)
}

// Model implements Embedder.
func (m *Models) Model() string { return m.Emb.Model() }

// Embed implements Embedder: align onto the 112×112 template, embed.
func (m *Models) Embed(f *frame.Frame, face frame.Face, aligned []byte, vec []float32) error {
	if _, err := facenet.AlignFrame(f, face, &m.aligned); err != nil {
		return err
	}
	if len(vec) != frame.EmbeddingDim {
		return fmt.Errorf("embedding buffer of %d floats, want %d", len(vec), frame.EmbeddingDim)
	}
	// EmbedTo writes into vec: no allocation on the camera path.
	if err := m.Emb.EmbedTo(&m.aligned, vec); err != nil {
		return err
	}
	copy(aligned, m.aligned.Pix[:])
	return nil
}

// Quality implements QualityFunc with facenet's enrollment gate, on the
// face Embed aligned last (the runner calls it right after Embed).
func (m *Models) Quality(_ *frame.Frame, face frame.Face, _ []byte) (float32, error) {
	q := facenet.Assess(face, &m.aligned)
	if !q.OK {
		return q.Score, fmt.Errorf("%s", q.Reason)
	}
	return q.Score, nil
}

// GalleryMatcher adapts a *gallery.Matcher: it names faces with the
// current snapshot and reports the snapshot's generation, so runners
// re-vote as soon as an enrollment or deletion lands.
type GalleryMatcher struct{ M *gallery.Matcher }

// Match implements Matcher.
func (g GalleryMatcher) Match(e frame.Embedding) Match {
	r := g.M.Match(e)
	m := Match{Known: r.Known, Similarity: r.Similarity}
	if r.Known {
		m.PersonID, m.Name = r.PersonID, r.Name
	}
	return m
}

// Generation implements Generationer.
func (g GalleryMatcher) Generation() uint64 { return g.M.Generation() }

// GallerySample turns a track's sample into a gallery sample (the aligned
// face as JPEG, source "camera") for gallery.Service.EnrollSamples.
func (s Sample) GallerySample() (gallery.Sample, error) {
	face, err := encodeAligned(s.Aligned)
	if err != nil {
		return gallery.Sample{}, err
	}
	return gallery.Sample{
		Embedding: s.Embedding, Face: face, Quality: s.Quality,
		Source: gallery.SourceCamera, Time: s.Time,
	}, nil
}

// EnrollTrack enrolls the best faces of a live track under name ("enroll
// track 7 as 김민수"): the runner gives the faces, the gallery service
// writes them in one transaction and swaps its snapshot.
func EnrollTrack(ctx context.Context, r *Runner, track int, name string, svc *gallery.Service, opt gallery.EnrollOptions) (gallery.Enrollment, error) {
	samples, err := r.TrackSamples(track)
	if err != nil {
		return gallery.Enrollment{}, err
	}
	gs := make([]gallery.Sample, 0, len(samples))
	for _, s := range samples {
		g, err := s.GallerySample()
		if err != nil {
			return gallery.Enrollment{}, err
		}
		gs = append(gs, g)
	}
	return svc.EnrollSamples(ctx, name, gs, opt)
}
