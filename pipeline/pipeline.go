// Package pipeline is facegate's frame loop: it takes the newest frame of a
// source, detects faces on every frame, follows them with an IoU tracker,
// embeds a face only when its track is new, undecided or due for a refresh,
// names tracks by a vote over their recent matches against the gallery
// snapshot, and turns stable tracks into debounced events. Events and
// per-frame results fan out through hubs that never wait for subscribers.
//
// It builds with CGO_ENABLED=0 and imports only pipeline/frame,
// pipeline/gallery and models; cameras and adapters plug in through the
// small interfaces declared here.
package pipeline

import "facegate/pipeline/frame"

// AlignedSize is the side of an aligned face (MobileFaceNet's input).
const AlignedSize = 112

// Detector finds faces in a frame, appending to dst[:0]. An instance is
// used by one runner goroutine only.
type Detector interface {
	Detect(f *frame.Frame, dst []frame.Face) ([]frame.Face, error)
}

// Embedder aligns and embeds one face. An instance is used by one runner
// goroutine only.
type Embedder interface {
	// Embed warps face of f onto the template into aligned
	// (AlignedSize×AlignedSize packed RGB) and writes its L2-normalised
	// embedding into vec (len frame.EmbeddingDim).
	Embed(f *frame.Frame, face frame.Face, aligned []byte, vec []float32) error
	// Model identifies the embedding model (frame.Embedding.Model).
	Model() string
}

// Match is a gallery's decision for one embedding.
type Match struct {
	Known      bool    // the face is named
	PersonID   string  // empty when not Known
	Name       string  // empty when not Known
	Similarity float32 // to the most similar person, named or not
}

// Matcher names an embedding against the current gallery snapshot. It must
// be safe for concurrent use, cheap, and should not allocate.
type Matcher interface {
	Match(e frame.Embedding) Match
}

// QualityFunc rates a face for enrollment (higher is better); an error
// means the face is too poor to be kept as a sample.
type QualityFunc func(f *frame.Frame, face frame.Face, aligned []byte) (float32, error)

// Generationer is an optional Matcher method: a number that changes
// whenever the gallery does. The runner then re-votes its tracks at once,
// so a deleted person stops being named on the next frame rather than at
// the next refresh.
type Generationer interface {
	Generation() uint64
}

// defaultQuality prefers confident, large faces: the detector score times
// the eye distance relative to 64 pixels (capped at 1).
func defaultQuality(_ *frame.Frame, face frame.Face, _ []byte) (float32, error) {
	re, le := face.Keypoints[frame.RightEye], face.Keypoints[frame.LeftEye]
	dx, dy := re.X-le.X, re.Y-le.Y
	d := dx*dx + dy*dy
	q := min(d/(64*64), 1)
	return face.Score * q, nil
}
