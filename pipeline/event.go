package pipeline

import (
	"encoding/json"
	"time"

	"facegate/pipeline/frame"
)

// EventType says what happened.
type EventType string

// Event types (the MQTT contract's "type" values, plus presence).
const (
	// EventRecognized: a known person's track became stable. Sent once per
	// person and camera until the person has been away for the presence
	// timeout.
	EventRecognized EventType = "recognized"
	// EventUnknown: an unknown face stayed for the configured number of frames.
	EventUnknown EventType = "unknown"
	// EventLeft: a track that had an event is gone.
	EventLeft EventType = "left"
	// EventPresence: a person's presence changed; State is "home" or "away".
	EventPresence EventType = "presence"
)

// Presence states.
const (
	StateHome = "home"
	StateAway = "away"
)

// Event is one recognition event. PersonID and Name are empty for unknown
// faces.
type Event struct {
	Type       EventType
	ID         string // unique, time-ordered
	Time       time.Time
	Camera     string
	Track      int
	PersonID   string
	Name       string
	Similarity float32
	Box        frame.Box
	State      string // presence events only
	Thumb      []byte // JPEG of the face, recognized and unknown events
}

type eventJSON struct {
	Type       EventType  `json:"type"`
	ID         string     `json:"id,omitempty"`
	Time       time.Time  `json:"time"`
	Camera     string     `json:"camera"`
	Track      int        `json:"track"`
	PersonID   *string    `json:"person_id"`
	Name       *string    `json:"name"`
	Similarity float32    `json:"similarity"`
	Box        [4]float32 `json:"box"`
	State      string     `json:"state,omitempty"`
}

// MarshalJSON writes the event in the shape of the MQTT contract:
// {"type","id","time","camera","track","person_id","name","similarity",
// "box":[x,y,w,h]} with null person_id and name when unknown. The
// thumbnail is left out (it travels separately).
func (e Event) MarshalJSON() ([]byte, error) {
	j := eventJSON{
		Type: e.Type, ID: e.ID, Time: e.Time, Camera: e.Camera, Track: e.Track,
		Similarity: e.Similarity, Box: [4]float32{e.Box.X, e.Box.Y, e.Box.W, e.Box.H},
		State: e.State,
	}
	if e.PersonID != "" {
		j.PersonID, j.Name = &e.PersonID, &e.Name
	}
	return json.Marshal(j)
}

// MaxResultFaces is how many faces a Result carries; more are left out.
const MaxResultFaces = 8

// FaceResult is one face of a frame with its track and current identity.
type FaceResult struct {
	Box        frame.Box
	Keypoints  [frame.NumKeypoints]frame.Point
	Track      int
	PersonID   string
	Name       string
	Similarity float32
	Known      bool
}

// Result is one processed frame, for live overlays. It is a value with a
// fixed array so that publishing it allocates nothing: the faces are
// Faces[:N] (see List).
type Result struct {
	Camera string
	Seq    uint64
	Time   time.Time
	W, H   int
	N      int
	Faces  [MaxResultFaces]FaceResult
}

// List returns the result's faces.
func (r *Result) List() []FaceResult { return r.Faces[:r.N] }

type faceJSON struct {
	Box        [4]float32                     `json:"box"`
	Keypoints  [frame.NumKeypoints][2]float32 `json:"keypoints"`
	Track      int                            `json:"track"`
	PersonID   *string                        `json:"person_id"`
	Name       *string                        `json:"name"`
	Similarity float32                        `json:"similarity"`
	Known      bool                           `json:"known"`
}

// MarshalJSON writes {"type":"frame","camera","seq","time","width",
// "height","faces":[{"box","keypoints","track","person_id","name",
// "similarity","known"}]}.
func (r Result) MarshalJSON() ([]byte, error) {
	faces := make([]faceJSON, r.N)
	for i := range faces {
		f := &r.Faces[i]
		j := &faces[i]
		j.Box = [4]float32{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}
		for k, p := range f.Keypoints {
			j.Keypoints[k] = [2]float32{p.X, p.Y}
		}
		j.Track, j.Similarity, j.Known = f.Track, f.Similarity, f.Known
		if f.PersonID != "" {
			j.PersonID, j.Name = &f.PersonID, &f.Name
		}
	}
	return json.Marshal(struct {
		Type   string     `json:"type"`
		Camera string     `json:"camera"`
		Seq    uint64     `json:"seq"`
		Time   time.Time  `json:"time"`
		W      int        `json:"width"`
		H      int        `json:"height"`
		Faces  []faceJSON `json:"faces"`
	}{"frame", r.Camera, r.Seq, r.Time, r.W, r.H, faces})
}

// Sample is one face of a live track kept for enrollment: the aligned crop,
// its embedding and its quality. The best few of each track are kept.
type Sample struct {
	Quality   float32
	Embedding frame.Embedding
	Aligned   []byte // AlignedSize×AlignedSize packed RGB
	Time      time.Time
}
