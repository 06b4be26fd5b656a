package web

import (
	"context"
	"fmt"
	"io"

	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// absent stands in for a dependency the app did not provide: its routes
// answer 503 instead of crashing.
type absent struct{ what string }

func (a absent) err() error { return fmt.Errorf("%w: no %s on this server", ErrUnavailable, a.what) }

func (a absent) People(context.Context) ([]gallery.Person, error) { return nil, a.err() }
func (a absent) Create(context.Context, string, [][]byte, gallery.Source) (gallery.Person, []PhotoResult, error) {
	return gallery.Person{}, nil, a.err()
}
func (a absent) Rename(context.Context, string, string) (gallery.Person, error) {
	return gallery.Person{}, a.err()
}
func (a absent) Delete(context.Context, string) error                        { return a.err() }
func (a absent) Samples(context.Context, string) ([]Sample, error)           { return nil, a.err() }
func (a absent) SampleFace(context.Context, string, string) ([]byte, error)  { return nil, a.err() }
func (a absent) DeleteSample(context.Context, string, string) error          { return a.err() }
func (a absent) List(context.Context, EventFilter) ([]pipeline.Event, error) { return nil, a.err() }
func (a absent) Thumb(context.Context, string) ([]byte, error)               { return nil, a.err() }
func (a absent) Settings(context.Context) (Settings, error)                  { return Settings{}, a.err() }
func (a absent) PutSettings(context.Context, Settings) error                 { return a.err() }
func (a absent) Snapshot(context.Context, string) ([]byte, error)            { return nil, a.err() }
func (a absent) Faces(context.Context, string) ([]LiveFace, error)           { return nil, a.err() }
func (a absent) Backup(context.Context, io.Writer) error                     { return a.err() }
func (a absent) Restore(context.Context, io.Reader) error                    { return a.err() }
func (a absent) AddFromTrack(context.Context, string, int, string) (gallery.Person, error) {
	return gallery.Person{}, a.err()
}

// Cameras of an absent Live is an empty list: a device without cameras
// still shows its page.
func (a absent) Cameras(context.Context) ([]CameraStatus, error) { return nil, nil }

func (s *Server) fillAbsent() {
	if s.opt.Gallery == nil {
		s.opt.Gallery = absent{"gallery"}
	}
	if s.opt.Events == nil {
		s.opt.Events = absent{"event log"}
	}
	if s.opt.Settings == nil {
		s.opt.Settings = absent{"settings store"}
	}
	if s.opt.Live == nil {
		s.opt.Live = absent{"camera"}
	}
	if s.opt.Backups == nil {
		s.opt.Backups = absent{"backup support"}
	}
}
