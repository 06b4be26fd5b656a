// Package models holds the shipped TFLite model files, embedded in the
// binary, with their identities. Provenance and licences: README.md here.
package models

import (
	"crypto/sha256"
	_ "embed" // the model files
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

//go:embed face_detection_short_range.tflite
var shortRange []byte

//go:embed face_detection_full_range_sparse.tflite
var fullRangeSparse []byte

//go:embed MobileFaceNet.tflite
var mobileFaceNet []byte

// Names of the shipped models.
const (
	DetectorShort = "face_detection_short_range"
	DetectorFull  = "face_detection_full_range_sparse"
	Recognizer    = "MobileFaceNet"
)

// Published sha256 sums of the shipped files (also in SHA256SUMS).
var shipped = map[string]string{
	DetectorShort: "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
	DetectorFull:  "671dd2f9ed11a78436fc21cc42357a803dfc6f73e9fb86541be942d5716c2dce",
	Recognizer:    "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
}

// File is a model's bytes with its identity.
type File struct {
	Name   string // model name, e.g. "MobileFaceNet"
	SHA256 string // hex sha256 of Data
	Data   []byte
}

// ID is the model identity stored with embeddings: name and sha256 prefix.
func (f File) ID() string { return f.Name + "@" + f.SHA256[:12] }

// Embedded returns one of the shipped models by name, checked against its
// published sum.
func Embedded(name string) (File, error) {
	var data []byte
	switch name {
	case DetectorShort:
		data = shortRange
	case DetectorFull:
		data = fullRangeSparse
	case Recognizer:
		data = mobileFaceNet
	default:
		return File{}, fmt.Errorf("models: no embedded model %q", name)
	}
	f := File{Name: name, SHA256: sum(data), Data: data}
	if f.SHA256 != shipped[name] {
		return File{}, fmt.Errorf("models: embedded %s has sha256 %s, want %s", name, f.SHA256, shipped[name])
	}
	return f, nil
}

// Open returns the model at path when path is set (a replacement file named
// after its base name), and the embedded model called name otherwise.
func Open(name, path string) (File, error) {
	if path == "" {
		return Embedded(name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("models: %w", err)
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return File{Name: base, SHA256: sum(data), Data: data}, nil
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
