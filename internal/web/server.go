// Package web is facegate's HTTPS server: TLS with a generated certificate,
// first-start setup, login sessions and API tokens, the JSON API, server-sent
// events, /metrics and the embedded page (ui/).
//
// It imports only pipeline, pipeline/gallery, internal/config and the
// standard library (plus x/crypto); internal/app wires its interfaces.
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"facegate/internal/config"
)

//go:embed ui
var embedded embed.FS

// Options configure a Server. Auth is required; a nil Gallery, Events,
// Settings, Live or Backups makes its routes answer 503.
type Options struct {
	HTTP     config.HTTP // listen addresses, certificate files
	StateDir string      // where the generated certificate is kept

	Gallery  Gallery
	Events   Events
	Auth     AuthStore
	Settings SettingsStore
	Live     Live
	Backups  Backups
	Metrics  *Metrics // nil: a fresh one
	// Routes are extra authenticated routes (e.g. WebRTC signaling).
	Routes []Route

	// AdminPassword, when set and no user exists yet, creates the admin
	// account at start (FACEGATE_ADMIN_PASSWORD provisioning).
	AdminPassword config.Secret
	// UIDir serves the page from a directory instead of the embedded copy
	// (development).
	UIDir string
	// KDF is the password hashing cost; zero: DefaultKDF.
	KDF KDFParams
	// SessionTTL is how long a login lasts; 0: 30 days.
	SessionTTL time.Duration
	// MaxUpload bounds one enrollment request (all photos); 0: 32 MiB.
	MaxUpload int64
	// MaxRestore bounds a restore upload; 0: 1 GiB.
	MaxRestore int64

	Logger *slog.Logger
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Server is the web server. Create it with New, then Listen, Serve and
// Shutdown.
type Server struct {
	opt    Options
	log    *slog.Logger
	now    func() time.Time
	ui     fs.FS
	broker *Broker
	m      *Metrics

	events  *eventStats
	started time.Time

	limiter   *limiter
	setup     *setupState
	dummyHash string // verified for unknown users, so timing reveals nothing

	handler  http.Handler
	https    *http.Server
	redirect *http.Server

	mu     sync.Mutex
	ln     net.Listener // TLS listener, after Listen
	rln    net.Listener // redirect listener, after Listen
	closed bool
}

// New builds a server; it does not bind. When no user exists it either
// creates the admin from AdminPassword or prepares a one-time setup code and
// logs it once.
func New(ctx context.Context, opt Options) (*Server, error) {
	s := &Server{opt: opt, log: opt.Logger, now: opt.Now, m: opt.Metrics}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "web")
	if s.now == nil {
		s.now = time.Now
	}
	if s.m == nil {
		s.m = NewMetrics()
	}
	if s.opt.SessionTTL <= 0 {
		s.opt.SessionTTL = 30 * 24 * time.Hour
	}
	if s.opt.MaxUpload <= 0 {
		s.opt.MaxUpload = 32 << 20
	}
	if s.opt.MaxRestore <= 0 {
		s.opt.MaxRestore = 1 << 30
	}
	if opt.UIDir != "" {
		s.ui = os.DirFS(opt.UIDir)
	} else {
		sub, err := fs.Sub(embedded, "ui")
		if err != nil {
			return nil, err
		}
		s.ui = sub
	}
	if opt.Auth == nil {
		return nil, errors.New("web: Options.Auth is required")
	}
	s.fillAbsent()
	s.broker = NewBroker(64)
	s.limiter = newLimiter(5, 12*time.Second)
	s.setup = &setupState{}
	s.dummyHash = HashPassword(randomToken(), s.opt.KDF)
	if err := s.initSetup(ctx); err != nil {
		return nil, err
	}
	s.m.GaugeFunc("facegate_web_stream_clients", "Open /api/stream connections (pages).", func() float64 {
		return float64(s.broker.Clients())
	})
	s.m.CounterFunc("facegate_web_stream_dropped_total", "Server-sent events dropped for slow pages.", func() float64 {
		return float64(s.broker.Dropped())
	})
	s.events = newEventStats()
	s.started = s.now()
	s.m.Collect(s.events.write)
	s.m.Collect(s.writeProcess)
	s.handler = s.routes()
	return s, nil
}

// Handler returns the whole HTTP handler (tests, or serving through another
// listener).
func (s *Server) Handler() http.Handler { return s.handler }

// Broker returns the server-sent event broker, so the app can push events
// and camera status to every open page.
func (s *Server) Broker() *Broker { return s.broker }

// Metrics returns the /metrics registry, so the app can add collectors.
func (s *Server) Metrics() *Metrics { return s.m }

// Listen binds the HTTPS listener (and the redirect listener when
// configured) and loads or generates the certificate. After it returns the
// app may report READY.
func (s *Server) Listen() error {
	cert, err := s.certificate()
	if err != nil {
		return err
	}
	tcfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	ln, err := net.Listen("tcp", s.opt.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", s.opt.HTTP.Listen, err)
	}
	var rln net.Listener
	if s.opt.HTTP.RedirectListen != "" {
		rln, err = net.Listen("tcp", s.opt.HTTP.RedirectListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("web: listen %s: %w", s.opt.HTTP.RedirectListen, err)
		}
	}
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln = tls.NewListener(ln, tcfg)
	s.rln = rln
	s.https = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          errLog,
	}
	if rln != nil {
		s.redirect = &http.Server{
			Handler:           s.redirectHandler(ln.Addr()),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          errLog,
		}
	}
	return nil
}

// Addr returns the bound HTTPS address (after Listen).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve serves until Shutdown; it returns nil after a clean shutdown.
func (s *Server) Serve() error {
	s.mu.Lock()
	ln, rln, hs, rs := s.ln, s.rln, s.https, s.redirect
	s.mu.Unlock()
	if ln == nil {
		return errors.New("web: Serve before Listen")
	}
	errc := make(chan error, 2)
	n := 1
	go func() { errc <- hs.Serve(ln) }()
	if rs != nil {
		n++
		go func() { errc <- rs.Serve(rln) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && first == nil {
			first = err
			// One listener failed: stop the other so Serve returns.
			_ = hs.Close()
			if rs != nil {
				_ = rs.Close()
			}
		}
	}
	return first
}

// Shutdown ends the event streams (so open pages do not hold the shutdown),
// then stops accepting and waits for requests until ctx ends. Idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	hs, rs, ln, rln := s.https, s.redirect, s.ln, s.rln
	s.mu.Unlock()
	s.broker.Close()
	var errs []error
	if rs != nil {
		errs = append(errs, rs.Shutdown(ctx))
	} else if rln != nil {
		rln.Close()
	}
	if hs != nil {
		errs = append(errs, hs.Shutdown(ctx))
	} else if ln != nil {
		ln.Close()
	}
	return errors.Join(errs...)
}

// redirectHandler sends every plain-HTTP request to the HTTPS port.
func (s *Server) redirectHandler(tlsAddr net.Addr) http.Handler {
	_, port, _ := net.SplitHostPort(tlsAddr.String())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || strings.ContainsAny(host, "/\\@") {
			http.Error(w, "bad host", http.StatusBadRequest)
			return
		}
		target := "https://" + net.JoinHostPort(host, port)
		if port == "443" {
			target = "https://" + host
			if strings.Contains(host, ":") {
				target = "https://[" + host + "]"
			}
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "use HTTPS", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
}
