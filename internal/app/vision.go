package app

import (
	"facegate/internal/config"
	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// loadModels builds one detector and one embedder (interpreters are not
// goroutine-safe: every runner, and the gallery service, get their own).
func loadModels(cfg config.Config, detector string) (*blazeface.Detector, *facenet.Embedder, error) {
	path := cfg.Models.Short
	if detector == "full" {
		path = cfg.Models.Full
	}
	det, err := blazeface.New(blazeface.Options{Model: detector, MinScore: float32(cfg.Detector.MinScore), Threads: 1, ModelPath: path})
	if err != nil {
		return nil, nil, err
	}
	emb, err := facenet.New(facenet.Options{Threads: 1, ModelPath: cfg.Models.Recognizer})
	if err != nil {
		det.Close()
		return nil, nil, err
	}
	return det, emb, nil
}

// newVision is the gallery service's detector and embedder, for photos.
func newVision(cfg config.Config) (*gallery.ModelVision, error) {
	det, emb, err := loadModels(cfg, cfg.Detector.Model)
	if err != nil {
		return nil, err
	}
	return &gallery.ModelVision{Det: det, Emb: emb}, nil
}

// newRunnerModels is one camera runner's detector and embedder.
func newRunnerModels(cfg config.Config, detector string) (*pipeline.Models, error) {
	det, emb, err := loadModels(cfg, detector)
	if err != nil {
		return nil, err
	}
	return &pipeline.Models{Det: det, Emb: emb}, nil
}
