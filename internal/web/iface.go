package web

import (
	"context"
	"errors"
	"io"
	"time"

	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// The interfaces below are what the web server needs; internal/app
// implements them over the store, the gallery service and the pipeline.
// Errors: wrap gallery.ErrNotFound (404), gallery.ErrNameTaken (409),
// gallery.ErrBadName or ErrInvalid (400), gallery.ErrNoFace, ErrManyFaces,
// ErrPoorFace, ErrNothingEnrolled, ErrModelMismatch (422); anything else is
// a 500 whose text is logged, not shown.

// ErrInvalid marks input the server refuses (400); its text is shown.
var ErrInvalid = errors.New("invalid input")

// ErrUnavailable marks a feature that is not there on this device (503),
// e.g. a snapshot of a camera that is not running.
var ErrUnavailable = errors.New("unavailable")

// PhotoResult is the outcome for one uploaded photo of an enrollment.
type PhotoResult struct {
	Index    int    `json:"index"`  // 0-based position in the upload
	OK       bool   `json:"ok"`     // a sample was stored
	Reason   string `json:"reason"` // why not, e.g. "no face found"
	SampleID string `json:"sample_id,omitempty"`
}

// Sample describes one stored sample (without its embedding).
type Sample struct {
	ID      string         `json:"id"`
	Source  gallery.Source `json:"source"`
	Time    time.Time      `json:"time"`
	Quality float32        `json:"quality"`
}

// Gallery is the people side: every write goes through it, and it keeps the
// store and the matching snapshot in step.
type Gallery interface {
	// People lists everyone, in any order.
	People(ctx context.Context) ([]gallery.Person, error)
	// Create enrolls photos under name: a new person, or more samples for
	// the person of that name. Per-photo results say which photos were
	// used; when none was, it returns an error wrapping
	// gallery.ErrNothingEnrolled and changes nothing.
	Create(ctx context.Context, name string, photos [][]byte, src gallery.Source) (gallery.Person, []PhotoResult, error)
	// Rename gives person id a new name.
	Rename(ctx context.Context, id, name string) (gallery.Person, error)
	// Delete removes a person with all samples.
	Delete(ctx context.Context, id string) error
	// Samples lists a person's samples.
	Samples(ctx context.Context, personID string) ([]Sample, error)
	// SampleFace returns the 112×112 JPEG of a sample.
	SampleFace(ctx context.Context, personID, sampleID string) ([]byte, error)
	// DeleteSample removes one sample.
	DeleteSample(ctx context.Context, personID, sampleID string) error
	// AddFromTrack enrolls the face of a live track under name (creating
	// the person when needed).
	AddFromTrack(ctx context.Context, camera string, track int, name string) (gallery.Person, error)
}

// EventFilter selects events; zero values select everything.
type EventFilter struct {
	PersonID string
	Camera   string
	Known    *bool  // nil: both
	Before   string // an event ID: only older events (paging cursor)
	Limit    int    // 1..500, set by the server
}

// Events is the event log.
type Events interface {
	// List returns matching events, newest first.
	List(ctx context.Context, f EventFilter) ([]pipeline.Event, error)
	// Thumb returns an event's JPEG thumbnail.
	Thumb(ctx context.Context, id string) ([]byte, error)
}

// User is an account that can log in.
type User struct {
	Name         string
	PasswordHash string // PHC string, see HashPassword
	Admin        bool
	Created      time.Time
}

// Session is a logged-in browser. Only the SHA-256 of its token is stored.
type Session struct {
	TokenHash []byte // SHA-256 of the cookie value
	User      string
	Created   time.Time
	Expires   time.Time
}

// APIToken is a bearer token for automations. Only its hash is stored.
type APIToken struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	User    string    `json:"user"`
	Hash    []byte    `json:"-"` // SHA-256 of the token
	Created time.Time `json:"created"`
}

// AuthStore keeps users, sessions and API tokens (internal/store has the
// same methods without ctx). Lookups of absent items return an error
// wrapping gallery.ErrNotFound.
type AuthStore interface {
	// UserCount is 0 until the first-start setup is done.
	UserCount(ctx context.Context) (int, error)
	User(ctx context.Context, name string) (User, error)
	// CreateFirstUser adds u only when no user exists at all, atomically:
	// of two racing setups exactly one wins.
	CreateFirstUser(ctx context.Context, u User) error
	// UpdateUser changes an existing user (password change).
	UpdateUser(ctx context.Context, u User) error

	PutSession(ctx context.Context, s Session) error
	Session(ctx context.Context, tokenHash []byte) (Session, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error

	PutAPIToken(ctx context.Context, t APIToken) error
	APITokens(ctx context.Context) ([]APIToken, error)
	APITokenByHash(ctx context.Context, hash []byte) (APIToken, error)
	DeleteAPIToken(ctx context.Context, id string) error
}

// Settings are the values the page can change at run time.
type Settings struct {
	Threshold       float64  `json:"threshold"`        // cosine, [0,1); 0: calibrated default
	PresenceTimeout Duration `json:"presence_timeout"` // e.g. "5m0s"
	Retention       Duration `json:"retention"`        // 0: until events.max
	DetectorModel   string   `json:"detector_model"`   // short | full
}

// SettingsStore reads and applies settings; Put persists them and applies
// them to the running pipeline.
type SettingsStore interface {
	Settings(ctx context.Context) (Settings, error)
	PutSettings(ctx context.Context, s Settings) error
}

// CameraStatus is one camera as the page shows it.
type CameraStatus struct {
	Name   string  `json:"name"`
	Kind   string  `json:"kind"`   // "device" or "browser"
	State  string  `json:"state"`  // "running", "starting", "stopped", "error"
	Error  string  `json:"error"`  // last error when State is "error"
	Width  int     `json:"width"`  // frame size, 0 when unknown
	Height int     `json:"height"` //
	FPS    float64 `json:"fps"`    // frames processed per second lately
}

// LiveFace is a face now tracked on a camera.
type LiveFace struct {
	Track      int        `json:"track"`
	Box        [4]float32 `json:"box"` // x, y, w, h in pixels
	PersonID   string     `json:"person_id,omitempty"`
	Name       string     `json:"name,omitempty"`
	Similarity float32    `json:"similarity"`
}

// Live is the running pipeline as the page sees it.
type Live interface {
	// Cameras lists cameras with their state.
	Cameras(ctx context.Context) ([]CameraStatus, error)
	// Snapshot returns the camera's latest frame as JPEG with boxes and
	// names drawn.
	Snapshot(ctx context.Context, camera string) ([]byte, error)
	// Faces lists the faces now tracked on the camera.
	Faces(ctx context.Context, camera string) ([]LiveFace, error)
}

// Backups streams the whole state out and back in.
type Backups interface {
	// Backup writes a consistent copy of the database to w.
	Backup(ctx context.Context, w io.Writer) error
	// Restore replaces the state with the backup read from r, after
	// checking it; a bad backup changes nothing.
	Restore(ctx context.Context, r io.Reader) error
}
