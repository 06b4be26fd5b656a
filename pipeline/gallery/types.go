// Package gallery is facegate's gallery logic: the people and face samples
// that can be named, an immutable snapshot of them that matching reads
// without locks, the open-set decision ("known" or not), and the Service
// through which every enrollment, rename and deletion goes.
//
// It imports only pipeline/frame, models/... and the standard library (plus
// golang.org/x/text); storage is behind the Store interface, which
// internal/store implements.
package gallery

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"facegate/pipeline/frame"
)

// Sentinel errors shared with the store, so callers can test them with
// errors.Is whichever layer returned them.
var (
	// ErrNotFound: no such person, sample or ignored face.
	ErrNotFound = errors.New("not found")
	// ErrNameTaken: another person already has this name (after NFC).
	ErrNameTaken = errors.New("name already taken")
	// ErrNoFace: an image in which no face was found.
	ErrNoFace = errors.New("no face found")
	// ErrManyFaces: an image with several faces when one was expected.
	ErrManyFaces = errors.New("several faces found")
	// ErrPoorFace: a face too small, blurred, dark or turned to enroll.
	ErrPoorFace = errors.New("face too poor to enroll")
	// ErrNothingEnrolled: an enrollment in which every image was refused.
	ErrNothingEnrolled = errors.New("nothing enrolled")
	// ErrModelMismatch: an embedding made by another model than the gallery's.
	ErrModelMismatch = errors.New("embedding from a different model")
	// ErrLastSample: removing a person's only sample (remove the person).
	ErrLastSample = errors.New("a person's last sample cannot be removed")
)

// Source says where a sample came from.
type Source string

// The sources of samples.
const (
	SourceCLI    Source = "cli"
	SourceUpload Source = "upload"
	SourceCamera Source = "camera"
	SourceMQTT   Source = "mqtt"
)

// Valid reports whether s is one of the known sources.
func (s Source) Valid() bool {
	switch s {
	case SourceCLI, SourceUpload, SourceCamera, SourceMQTT:
		return true
	}
	return false
}

// Person is one enrolled person.
type Person struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"` // NFC, see NormalizeName
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Samples int       `json:"samples"` // number of stored samples
}

// Sample is one enrolled face of a person.
type Sample struct {
	ID        string
	PersonID  string
	Embedding frame.Embedding
	Face      []byte // 112×112 JPEG of the aligned face; may be nil when loaded for matching
	Quality   float32
	Source    Source
	Time      time.Time
}

// Ignored is a face marked "not a person": matches near it are suppressed.
type Ignored struct {
	ID        string
	Embedding frame.Embedding
	Time      time.Time
}

// Data is everything a snapshot is built from.
type Data struct {
	People  []Person
	Samples []Sample // Face may be nil
	Ignored []Ignored
	// Damaged names records the store could not read (a flipped bit on an
	// SD card): they are left out, so the rest still works, and reported.
	Damaged []string
}

// NewID returns a random identifier of 16 hex digits.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return hex.EncodeToString(b[:])
}
