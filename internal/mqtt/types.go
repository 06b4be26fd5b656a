package mqtt

import (
	"facegate/pipeline/annotate"

	"context"
	"image"
	"time"

	"facegate/pipeline/frame"
)

// Person is what the bridge publishes about one enrolled person.
type Person struct {
	ID      string
	Name    string // NFC, as the gallery stores it
	Samples int
}

// Gallery is what the bridge needs from the daemon: the gallery service plus
// a health report. internal/app adapts the real gallery to it. Every method
// either changes the gallery completely or not at all, and returns an error
// whose message can be shown to the requester as it is (e.g. "no face found",
// "2 faces in the image").
type Gallery interface {
	// People lists the enrolled people.
	People(ctx context.Context) ([]Person, error)
	// RegisterImage enrolls one sample from a JPEG or PNG image under name,
	// creating the person when the name is new; the gallery's quality gate
	// applies.
	RegisterImage(ctx context.Context, name string, img []byte) (Person, error)
	// RegisterFromCamera enrolls the best face seen on camera ("" = the
	// default camera) within timeout under name.
	RegisterFromCamera(ctx context.Context, camera, name string, timeout time.Duration) (Person, error)
	// Delete removes a person and their samples.
	Delete(ctx context.Context, personID string) (Person, error)
	// Rename gives a person a new name.
	Rename(ctx context.Context, personID, name string) (Person, error)
	// IgnoreLastUnknown marks the last unknown face as "not a person".
	IgnoreLastUnknown(ctx context.Context) error
	// Health reports the daemon's health; it goes out as the data of a
	// health response, next to the bridge's own figures.
	Health(ctx context.Context) (any, error)
}

// Event types, as published on <base>/event.
const (
	EventRecognized = "recognized"
	EventUnknown    = "unknown"
	EventLeft       = "left"
)

// Event is one recognition result to announce on <base>/event.
type Event struct {
	Type       string // EventRecognized, EventUnknown or EventLeft
	ID         string
	Time       time.Time
	Camera     string
	Track      int64
	PersonID   string // empty when unknown
	Name       string // empty when unknown: published as null
	Similarity float32
	Box        frame.Box

	// Image is the frame the event was seen in, owned by the event (the
	// bridge reads it later, on its own goroutine). When set, the bridge
	// draws the faces on it and publishes it retained on <base>/snapshot.
	Image image.Image
	// Faces are drawn on Image; when empty, Box and Name are.
	Faces []Label
	// Thumb is the pipeline's JPEG of the face (its box widened by a
	// quarter on each side). Without Image, the snapshot is drawn on it.
	Thumb []byte
}

// Label is one face drawn on a snapshot.
type Label = annotate.Label

// Presence states, as published on <base>/person/<id>.
const (
	Home = "home"
	Away = "away"
)

// Presence is the state of one person, published retained on
// <base>/person/<person_id>.
type Presence struct {
	PersonID string
	Name     string
	State    string // Home or Away
	LastSeen time.Time
	Camera   string
}

// Stats are the bridge's counters, reported by Stats and in health responses.
type Stats struct {
	Connected       bool   `json:"connected"`
	LastError       string `json:"last_error,omitempty"`
	Published       uint64 `json:"published"`
	Dropped         uint64 `json:"dropped"`          // outgoing messages lost: queue full
	LostOffline     uint64 `json:"lost_offline"`     // outgoing messages lost: broker away
	EventsDropped   uint64 `json:"events_dropped"`   // events lost before announcing: announcer busy
	Requests        uint64 `json:"requests"`         // requests answered
	RequestsBusy    uint64 `json:"requests_busy"`    // requests refused: worker queue full
	Connects        uint64 `json:"connects"`         // successful (re)connections
	SnapshotsFailed uint64 `json:"snapshots_failed"` // snapshots that could not be drawn
}
