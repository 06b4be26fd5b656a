package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register decoders for DecodeConfig
	_ "image/png"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// Upload limits for enrollment photos.
const (
	MaxPhotos      = 10
	MaxPhotoBytes  = 10 << 20
	MaxPhotoPixels = 40_000_000 // refuses decompression bombs before decoding
)

// Duration is a time.Duration written in JSON as "5m0s".
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string such as "5m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"5m\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: use a form like 5m or 720h", s)
	}
	*d = Duration(v)
	return nil
}

func sortPeople(ps []gallery.Person) {
	// The page sorts with Intl.Collator('ko'); here a stable order by name
	// then id keeps responses deterministic.
	slices.SortFunc(ps, func(a, b gallery.Person) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func (s *Server) handlePeople(w http.ResponseWriter, r *http.Request) {
	ps, err := s.opt.Gallery.People(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if ps == nil {
		ps = []gallery.Person{}
	}
	sortPeople(ps)
	writeJSON(w, http.StatusOK, ps)
}

// PeopleChanged pushes the current list of people to every open page. The
// server calls it after its own changes; the app calls it after changes
// from elsewhere (MQTT, CLI). The message is the whole list, so duplicates
// are harmless.
func (s *Server) PeopleChanged(ctx context.Context) {
	ps, err := s.opt.Gallery.People(ctx)
	if err != nil {
		s.log.Warn("people list for the page stream", "err", err)
		s.broker.Publish("resync", struct{}{})
		return
	}
	if ps == nil {
		ps = []gallery.Person{}
	}
	sortPeople(ps)
	s.broker.Publish("people", ps)
}

// CamerasChanged pushes the camera list and states to every open page; the
// app calls it when a camera starts, stops or fails.
func (s *Server) CamerasChanged(ctx context.Context) {
	cs, err := s.opt.Live.Cameras(ctx)
	if err != nil {
		s.log.Warn("camera list for the page stream", "err", err)
		return
	}
	if cs == nil {
		cs = []CameraStatus{}
	}
	s.broker.Publish("cameras", cs)
}

// PublishEvent pushes a recognition event to every open page (the events
// history prepends it) and counts it for /metrics (events by type, match
// similarity).
func (s *Server) PublishEvent(e pipeline.Event) {
	s.events.observe(e)
	s.broker.Publish("event", e)
}

type createResponse struct {
	Person gallery.Person `json:"person"`
	Photos []PhotoResult  `json:"photos"`
}

type createError struct {
	Error  string        `json:"error"`
	Photos []PhotoResult `json:"photos,omitempty"`
}

// handleCreatePerson enrolls uploaded photos (multipart: name, photo...).
func (s *Server) handleCreatePerson(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.opt.MaxUpload)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, "send multipart/form-data with a name and one or more photo fields")
		return
	}
	name, photos, err := readEnrollment(mr)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d MiB", s.opt.MaxUpload>>20))
			return
		}
		s.writeErr(w, err)
		return
	}
	p, results, err := s.opt.Gallery.Create(r.Context(), name, photos, gallery.SourceUpload)
	if err != nil {
		status, show := statusOf(err)
		if !show {
			s.writeErr(w, err)
			return
		}
		writeJSON(w, status, createError{Error: err.Error(), Photos: results})
		return
	}
	s.log.Info("person enrolled from upload", "id", p.ID, "name", p.Name, "photos", len(photos))
	s.PeopleChanged(r.Context())
	writeJSON(w, http.StatusCreated, createResponse{Person: p, Photos: results})
}

// readEnrollment reads the name and the photos, checking each is a JPEG or
// PNG of sane size before anything is decoded in full.
func readEnrollment(mr *multipart.Reader) (string, [][]byte, error) {
	var name string
	var photos [][]byte
	haveName := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, wrapBody(err)
		}
		switch part.FormName() {
		case "name":
			b, err := io.ReadAll(io.LimitReader(part, 1024))
			if err != nil {
				return "", nil, wrapBody(err)
			}
			name, haveName = string(b), true
		case "photo":
			if len(photos) == MaxPhotos {
				return "", nil, fmt.Errorf("%w: at most %d photos at once", ErrInvalid, MaxPhotos)
			}
			b, err := io.ReadAll(io.LimitReader(part, MaxPhotoBytes+1))
			if err != nil {
				return "", nil, wrapBody(err)
			}
			if len(b) > MaxPhotoBytes {
				return "", nil, fmt.Errorf("%w: photo %d is larger than %d MiB", ErrInvalid, len(photos)+1, MaxPhotoBytes>>20)
			}
			if err := checkImage(b); err != nil {
				return "", nil, fmt.Errorf("%w: photo %d (%s): %v", ErrInvalid, len(photos)+1, part.FileName(), err)
			}
			photos = append(photos, b)
		default:
			return "", nil, fmt.Errorf("%w: unexpected field %q (send name and photo)", ErrInvalid, part.FormName())
		}
	}
	if !haveName || strings.TrimSpace(name) == "" {
		return "", nil, fmt.Errorf("%w: a name is needed", ErrInvalid)
	}
	if _, err := gallery.NormalizeName(name); err != nil {
		return "", nil, err
	}
	if len(photos) == 0 {
		return "", nil, fmt.Errorf("%w: at least one photo is needed", ErrInvalid)
	}
	return name, photos, nil
}

func wrapBody(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return fmt.Errorf("%w: malformed upload: %v", ErrInvalid, err)
}

// checkImage accepts JPEG and PNG whose header decodes and whose size is
// bounded.
func checkImage(b []byte) error {
	ct := http.DetectContentType(b)
	if ct != "image/jpeg" && ct != "image/png" {
		return fmt.Errorf("not a JPEG or PNG image (%s)", ct)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("unreadable image: %v", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPhotoPixels {
		return fmt.Errorf("image of %d×%d pixels is too large", cfg.Width, cfg.Height)
	}
	return nil
}

type renameRequest struct {
	Name string `json:"name"`
}

func (s *Server) handleRename(w http.ResponseWriter, r *http.Request) {
	var req renameRequest
	if !readJSON(w, r, &req) {
		return
	}
	if _, err := gallery.NormalizeName(req.Name); err != nil {
		s.writeErr(w, err)
		return
	}
	p, err := s.opt.Gallery.Rename(r.Context(), r.PathValue("id"), req.Name)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.PeopleChanged(r.Context())
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) handleDeletePerson(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Gallery.Delete(r.Context(), r.PathValue("id")); err != nil {
		s.writeErr(w, err)
		return
	}
	s.log.Info("person deleted", "id", r.PathValue("id"))
	s.PeopleChanged(r.Context())
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleSamples(w http.ResponseWriter, r *http.Request) {
	ss, err := s.opt.Gallery.Samples(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if ss == nil {
		ss = []Sample{}
	}
	writeJSON(w, http.StatusOK, ss)
}

func (s *Server) handleSampleFace(w http.ResponseWriter, r *http.Request) {
	b, err := s.opt.Gallery.SampleFace(r.Context(), r.PathValue("id"), r.PathValue("sid"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJPEG(w, b)
}

func (s *Server) handleDeleteSample(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Gallery.DeleteSample(r.Context(), r.PathValue("id"), r.PathValue("sid")); err != nil {
		s.writeErr(w, err)
		return
	}
	s.PeopleChanged(r.Context())
	w.WriteHeader(http.StatusNoContent)
}

type fromTrackRequest struct {
	Camera string `json:"camera"`
	Track  int    `json:"track"`
	Name   string `json:"name"`
}

func (s *Server) handleFromTrack(w http.ResponseWriter, r *http.Request) {
	var req fromTrackRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Camera == "" || req.Track <= 0 {
		writeError(w, http.StatusBadRequest, "camera and a positive track are needed")
		return
	}
	if _, err := gallery.NormalizeName(req.Name); err != nil {
		s.writeErr(w, err)
		return
	}
	p, err := s.opt.Gallery.AddFromTrack(r.Context(), req.Camera, req.Track, req.Name)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.log.Info("person enrolled from camera", "id", p.ID, "name", p.Name, "camera", req.Camera)
	s.PeopleChanged(r.Context())
	writeJSON(w, http.StatusCreated, p)
}

type eventsResponse struct {
	Events []pipeline.Event `json:"events"`
	Next   string           `json:"next,omitempty"` // pass as before= for the next page
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := EventFilter{PersonID: q.Get("person"), Camera: q.Get("camera"), Before: q.Get("before"), Limit: 50}
	if v := q.Get("known"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "known must be true or false")
			return
		}
		f.Known = &b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "limit must be between 1 and 500")
			return
		}
		f.Limit = n
	}
	evs, err := s.opt.Events.List(r.Context(), f)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	resp := eventsResponse{Events: evs}
	if resp.Events == nil {
		resp.Events = []pipeline.Event{}
	}
	if len(evs) == f.Limit {
		resp.Next = evs[len(evs)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleEventThumb(w http.ResponseWriter, r *http.Request) {
	b, err := s.opt.Events.Thumb(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJPEG(w, b)
}

func writeJPEG(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=60")
	_, _ = w.Write(b)
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	st, err := s.opt.Settings.Settings(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// Validate checks settings from the page.
func (st Settings) Validate() error {
	switch {
	case !(st.Threshold >= 0 && st.Threshold < 1):
		return fmt.Errorf("%w: threshold must be in [0,1) (0: calibrated default)", ErrInvalid)
	case st.PresenceTimeout <= 0:
		return fmt.Errorf("%w: presence_timeout must be positive, like \"5m\"", ErrInvalid)
	case st.Retention < 0:
		return fmt.Errorf("%w: retention must not be negative", ErrInvalid)
	case st.DetectorModel != "short" && st.DetectorModel != "full":
		return fmt.Errorf("%w: detector_model must be short or full", ErrInvalid)
	}
	return nil
}

func (s *Server) handlePutSettings(w http.ResponseWriter, r *http.Request) {
	var st Settings
	if !readJSON(w, r, &st) {
		return
	}
	if err := st.Validate(); err != nil {
		s.writeErr(w, err)
		return
	}
	if err := s.opt.Settings.PutSettings(r.Context(), st); err != nil {
		s.writeErr(w, err)
		return
	}
	s.broker.Publish("settings", st)
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) handleCameras(w http.ResponseWriter, r *http.Request) {
	cs, err := s.opt.Live.Cameras(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if cs == nil {
		cs = []CameraStatus{}
	}
	writeJSON(w, http.StatusOK, cs)
}

func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	b, err := s.opt.Live.Snapshot(r.Context(), r.PathValue("name"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (s *Server) handleFaces(w http.ResponseWriter, r *http.Request) {
	fs, err := s.opt.Live.Faces(r.Context(), r.PathValue("name"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if fs == nil {
		fs = []LiveFace{}
	}
	writeJSON(w, http.StatusOK, fs)
}

func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	name := "facegate-" + s.now().UTC().Format("20060102-150405") + ".db"
	lw := &lazyWriter{w: w, header: func(h http.Header) {
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
	}}
	if err := s.opt.Backups.Backup(r.Context(), lw); err != nil {
		if !lw.started {
			s.writeErr(w, err)
			return
		}
		// Mid-stream: the truncated download fails the restore's checks;
		// the log says why.
		s.log.Error("backup download failed", "err", err)
	}
}

// lazyWriter sets the download headers at the first byte, so an error
// before any data can still be answered with a JSON error.
type lazyWriter struct {
	w       http.ResponseWriter
	header  func(http.Header)
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.header(l.w.Header())
	}
	return l.w.Write(p)
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request) {
	body := http.MaxBytesReader(w, r.Body, s.opt.MaxRestore)
	if err := s.opt.Backups.Restore(r.Context(), body); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "backup too large")
			return
		}
		s.writeErr(w, err)
		return
	}
	s.log.Info("state restored from an uploaded backup", "client", clientIP(r))
	s.PeopleChanged(r.Context())
	s.broker.Publish("resync", struct{}{})
	w.WriteHeader(http.StatusNoContent)
}
