package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"facegate/pipeline/gallery"
)

// Route is an extra authenticated route the app mounts (e.g. the WebRTC
// signaling of internal/rtc), so this package need not import it. It gets
// the same login and Origin checks as every API route.
type Route struct {
	Pattern string // a net/http ServeMux pattern, e.g. "POST /api/rtc/offer"
	Handler http.Handler
}

// route is one entry of the route table.
type route struct {
	pattern string
	public  bool // reachable without login
	h       http.Handler
}

// routeTable lists every route; tests iterate over it.
func (s *Server) routeTable() []route {
	f := func(p string, h http.HandlerFunc) route { return route{pattern: p, h: h} }
	pub := func(p string, h http.HandlerFunc) route { return route{pattern: p, h: h, public: true} }
	rs := []route{
		pub("GET /healthz", s.handleHealth),
		pub("GET /login", s.page("login.html")),
		pub("GET /setup", s.page("setup.html")),
		pub("GET /api/setup", s.handleSetupStatus),
		pub("POST /api/setup", s.handleSetup),
		pub("POST /api/login", s.handleLogin),
		// Only what the login and setup pages need is public.
		pub("GET /static/style.css", s.static),
		pub("GET /static/auth.js", s.static),
		pub("GET /static/icon.svg", s.static),

		f("GET /{$}", s.page("index.html")),
		f("GET /static/{file...}", s.static),
		f("/", s.handleNotFound),
		f("GET /api/me", s.handleMe),
		f("POST /api/logout", s.handleLogout),
		f("POST /api/password", s.handlePassword),

		f("GET /api/people", s.handlePeople),
		f("POST /api/people", s.handleCreatePerson),
		f("POST /api/people/from-track", s.handleFromTrack),
		f("PATCH /api/people/{id}", s.handleRename),
		f("DELETE /api/people/{id}", s.handleDeletePerson),
		f("GET /api/people/{id}/samples", s.handleSamples),
		f("GET /api/people/{id}/samples/{sid}/face.jpg", s.handleSampleFace),
		f("DELETE /api/people/{id}/samples/{sid}", s.handleDeleteSample),

		f("GET /api/events", s.handleEvents),
		f("GET /api/events/{id}/thumb", s.handleEventThumb),

		f("GET /api/settings", s.handleSettings),
		f("PUT /api/settings", s.handlePutSettings),

		f("GET /api/cameras", s.handleCameras),
		f("GET /api/cameras/{name}/snapshot.jpg", s.handleSnapshot),
		f("GET /api/cameras/{name}/faces", s.handleFaces),

		f("GET /api/backup", s.handleBackup),
		f("POST /api/restore", s.handleRestore),

		f("GET /api/tokens", s.handleTokens),
		f("POST /api/tokens", s.handleCreateToken),
		f("DELETE /api/tokens/{id}", s.handleDeleteToken),

		f("GET /api/stream", s.handleStream),
		f("GET /metrics", s.handleMetrics),
	}
	for _, x := range s.opt.Routes {
		rs = append(rs, route{pattern: x.Pattern, h: x.Handler})
	}
	return rs
}

// routes builds the handler: security headers around a mux whose
// non-public routes require a login.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		h := rt.h
		if rt.public {
			h = s.publicOnly(h)
		} else {
			h = s.requireLogin(h)
		}
		mux.Handle(rt.pattern, h)
	}
	return s.headers(mux)
}

// csp allows only the page's own files: no inline script or style.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("Strict-Transport-Security", "max-age=31536000")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
		s.m.Inc("facegate_web_requests_total")
		next.ServeHTTP(w, r)
	})
}

// publicOnly checks Origin on the public POSTs (login CSRF).
func (s *Server) publicOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unsafeMethod(r.Method) && !sameOrigin(r, false) {
			writeError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireLogin refuses anonymous requests (401 JSON for the API and
// /metrics, a redirect to the login page for pages) and cross-origin
// state changes.
func (s *Server) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(r)
		if !ok {
			switch {
			case strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/static/"):
				w.Header().Set("WWW-Authenticate", `Bearer realm="facegate"`)
				writeError(w, http.StatusUnauthorized, "log in first")
			case r.Method == http.MethodGet || r.Method == http.MethodHead:
				target := "/login"
				if s.needsSetup() {
					target = "/setup"
				}
				http.Redirect(w, r, target, http.StatusSeeOther)
			default:
				writeError(w, http.StatusUnauthorized, "log in first")
			}
			return
		}
		// Sessions ride on a cookie the browser sends by itself, so they
		// need a same-origin Origin; a bearer token is never sent by a
		// browser on its own, but a mismatching Origin is still refused.
		if unsafeMethod(r.Method) && !sameOrigin(r, p.SessionHash != nil) {
			writeError(w, http.StatusForbidden, "cross-origin request refused")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// page serves one HTML file of the UI.
func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name == "setup.html" && !s.needsSetup() {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if name == "login.html" && s.needsSetup() {
			http.Redirect(w, r, "/setup", http.StatusSeeOther)
			return
		}
		if name == "login.html" {
			if _, ok := s.authenticate(r); ok {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
		}
		s.serveFile(w, r, name)
	}
}

// static serves the page's CSS, JS and icons.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, ".html") {
		writeError(w, http.StatusNotFound, "no such file")
		return
	}
	s.serveFile(w, r, name)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(s.ui, path.Clean(name))
	if err != nil {
		writeError(w, http.StatusNotFound, "no such file")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	// Revalidate every time: the files are tiny and an update must show.
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

func (s *Server) handleNotFound(w http.ResponseWriter, _ *http.Request) {
	writeError(w, http.StatusNotFound, "no such page or API")
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

func (s *Server) handleSetupStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"needed": s.needsSetup()})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	writeJSON(w, http.StatusOK, map[string]any{"user": p.User, "token": p.TokenID != ""})
}

// maxJSON bounds JSON request bodies.
const maxJSON = 64 << 10

// readJSON decodes a small JSON body strictly; on failure it has answered.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "send application/json")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxJSON))
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON: more than one value")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

type errorBody struct {
	Error string `json:"error"`
}

// WriteError answers with the API's error shape, {"error": msg}; routes
// mounted from outside (Options.Routes) use it too.
func WriteError(w http.ResponseWriter, status int, msg string) { writeError(w, status, msg) }

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// statusOf maps an error from the app's implementations to a status and
// says whether its text may be shown.
func statusOf(err error) (int, bool) {
	switch {
	case errors.Is(err, gallery.ErrNotFound):
		return http.StatusNotFound, true
	case errors.Is(err, gallery.ErrNameTaken):
		return http.StatusConflict, true
	case errors.Is(err, ErrInvalid), errors.Is(err, gallery.ErrBadName):
		return http.StatusBadRequest, true
	case errors.Is(err, gallery.ErrNoFace), errors.Is(err, gallery.ErrManyFaces), errors.Is(err, gallery.ErrPoorFace),
		errors.Is(err, gallery.ErrNothingEnrolled), errors.Is(err, gallery.ErrModelMismatch):
		return http.StatusUnprocessableEntity, true
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, true
	case errors.Is(err, context.Canceled):
		return 499, false
	}
	return http.StatusInternalServerError, false
}

// writeErr answers with the status of err; internal errors are logged and
// shown only as "internal error".
func (s *Server) writeErr(w http.ResponseWriter, err error) {
	status, show := statusOf(err)
	if !show {
		if status == http.StatusInternalServerError {
			s.log.Error("request failed", "err", err)
		}
		writeError(w, status, http.StatusText(status))
		return
	}
	writeError(w, status, err.Error())
}
