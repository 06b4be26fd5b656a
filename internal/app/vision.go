package app

import (
	"sync"

	"facegate/internal/config"
	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// loaded holds each model file parsed once, with its weights packed once.
// Every runner builds its own detector on them (detectors run on every
// frame and are not goroutine-safe), but all runners and the gallery
// service share one embedder: embeddings are rare (new faces, refreshes)
// and the embedder serialises its calls, so a browser camera costs a
// detector's 2 MB of buffers, not another 5 MB of MobileFaceNet's.
type loaded struct {
	cfg config.Config

	mu     sync.Mutex
	det    map[string]*blazeface.Model // by "short" / "full"
	emb    *facenet.Model
	shared *facenet.Embedder // made on first use; closed by close, with the daemon
}

func (l *loaded) models(detector string) (*blazeface.Model, *facenet.Model, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.det == nil {
		l.det = map[string]*blazeface.Model{}
	}
	dm := l.det[detector]
	if dm == nil {
		path := l.cfg.Models.Short
		if detector == "full" {
			path = l.cfg.Models.Full
		}
		m, err := blazeface.Load(blazeface.Options{Model: detector, ModelPath: path})
		if err != nil {
			return nil, nil, err
		}
		l.det[detector], dm = m, m
	}
	if l.emb == nil {
		m, err := facenet.Load(facenet.Options{ModelPath: l.cfg.Models.Recognizer})
		if err != nil {
			return nil, nil, err
		}
		l.emb = m
	}
	return dm, l.emb, nil
}

// pair makes one detector on the shared models and returns it with the
// shared embedder.
func (l *loaded) pair(detector string) (*blazeface.Detector, *facenet.Embedder, error) {
	dm, em, err := l.models(detector)
	if err != nil {
		return nil, nil, err
	}
	det, err := dm.NewDetector(blazeface.Options{MinScore: float32(l.cfg.Detector.MinScore), Threads: 1})
	if err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shared == nil {
		emb, err := em.NewEmbedder(facenet.Options{Threads: 1})
		if err != nil {
			det.Close()
			return nil, nil, err
		}
		l.shared = emb
	}
	return det, l.shared, nil
}

// close closes the shared embedder, once no runner uses it any more.
func (l *loaded) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shared != nil {
		l.shared.Close()
	}
}

// release closes a runner's own detector; the embedder is shared and
// closes with the daemon.
func (l *loaded) release(m *pipeline.Models) { m.Det.Close() }

// vision is a detector and embedder for the gallery service (photos).
func (l *loaded) vision() (*gallery.ModelVision, error) {
	det, emb, err := l.pair(l.cfg.Detector.Model)
	if err != nil {
		return nil, err
	}
	return &gallery.ModelVision{Det: det, Emb: emb}, nil
}

// runnerModels is one camera runner's detector and embedder.
func (l *loaded) runnerModels(detector string) (*pipeline.Models, error) {
	det, emb, err := l.pair(detector)
	if err != nil {
		return nil, err
	}
	return &pipeline.Models{Det: det, Emb: emb}, nil
}
