package app

import (
	"sync"

	"facegate/internal/config"
	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// loaded holds each model file parsed once, with its weights packed once:
// every runner and the gallery service build their own interpreters on it
// (interpreters are not goroutine-safe; the models are immutable), so a
// browser camera costs buffers, not another copy of the weights.
type loaded struct {
	cfg config.Config

	mu  sync.Mutex
	det map[string]*blazeface.Model // by "short" / "full"
	emb *facenet.Model
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

// pair makes one detector and one embedder on the shared models.
func (l *loaded) pair(detector string) (*blazeface.Detector, *facenet.Embedder, error) {
	dm, em, err := l.models(detector)
	if err != nil {
		return nil, nil, err
	}
	det, err := dm.NewDetector(blazeface.Options{MinScore: float32(l.cfg.Detector.MinScore), Threads: 1})
	if err != nil {
		return nil, nil, err
	}
	emb, err := em.NewEmbedder(facenet.Options{Threads: 1})
	if err != nil {
		det.Close()
		return nil, nil, err
	}
	return det, emb, nil
}

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
