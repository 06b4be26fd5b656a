package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"facegate/pipeline/gallery"
)

// AdminUser is the account created by the first-start setup.
const AdminUser = "admin"

// SessionCookie is the login cookie. The __Host- prefix makes browsers
// insist on Secure, Path=/ and no Domain.
const SessionCookie = "__Host-facegate_session"

// tokenPrefix marks API tokens so they are recognisable in a secret scanner.
const tokenPrefix = "fgt_"

// setupState holds the one-time setup code while no user exists.
type setupState struct {
	mu   sync.Mutex
	code string // normalized; empty when setup is done or not needed
}

// initSetup creates the admin from AdminPassword, or makes and logs a
// setup code, when no user exists yet.
func (s *Server) initSetup(ctx context.Context) error {
	n, err := s.opt.Auth.UserCount(ctx)
	if err != nil {
		return fmt.Errorf("web: read users: %w", err)
	}
	if n > 0 {
		return nil
	}
	if pw := s.opt.AdminPassword.Reveal(); pw != "" {
		if err := CheckPassword(pw); err != nil {
			return fmt.Errorf("web: FACEGATE_ADMIN_PASSWORD: %w", err)
		}
		u := User{Name: AdminUser, PasswordHash: HashPassword(pw, s.opt.KDF), Admin: true, Created: s.now()}
		if err := s.opt.Auth.CreateFirstUser(ctx, u); err != nil {
			return fmt.Errorf("web: create admin: %w", err)
		}
		s.log.Info("admin account created from the provisioned password")
		return nil
	}
	code := newSetupCode()
	s.setup.code = normalizeCode(code)
	// Logged exactly once: the journal is where the owner of the device,
	// and nobody else on the LAN, can read it.
	s.log.Warn("first start: open the web page and enter this setup code to set the admin password", "setup_code", code)
	return nil
}

// newSetupCode returns 12 random characters from an alphabet without
// look-alikes, grouped by four: about 60 bits.
func newSetupCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

func normalizeCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, c)
}

// needsSetup reports whether the setup page should be shown.
func (s *Server) needsSetup() bool {
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	return s.setup.code != ""
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// principal is who made a request.
type principal struct {
	User        string
	SessionHash []byte // nil for API tokens
	TokenID     string // empty for sessions
}

type principalKey struct{}

func principalOf(r *http.Request) (principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(principal)
	return p, ok
}

// authenticate finds the session cookie or bearer token of r.
func (s *Server) authenticate(r *http.Request) (principal, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !strings.HasPrefix(tok, tokenPrefix) {
			return principal{}, false
		}
		t, err := s.opt.Auth.APITokenByHash(r.Context(), hashToken(tok))
		if err != nil {
			return principal{}, false
		}
		return principal{User: AdminUser, TokenID: t.ID}, true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return principal{}, false
	}
	h := hashToken(c.Value)
	sess, err := s.opt.Auth.Session(r.Context(), h)
	if err != nil {
		return principal{}, false
	}
	if !s.now().Before(sess.Expires) {
		_ = s.opt.Auth.DeleteSession(r.Context(), h)
		return principal{}, false
	}
	return principal{User: sess.User, SessionHash: h}, true
}

// sameOrigin checks the Origin of a state-changing request. Browsers send
// Origin on every cross-origin and every non-GET fetch, so a cookie-carrying
// request without it, or with another, is refused (CSRF).
func sameOrigin(r *http.Request, required bool) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return !required
	}
	return o == "https://"+r.Host
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// clientIP is the peer address: no forwarding headers are trusted, as the
// daemon is reached directly on the LAN.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter is a per-client token bucket for login and setup attempts.
type limiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration // one attempt regained per every
	clients map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(burst int, every time.Duration) *limiter {
	return &limiter{burst: float64(burst), every: every, clients: map[string]*bucket{}}
}

// allow takes one attempt for key; when none is left it returns false and
// how long until the next one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[key]
	if !ok {
		if len(l.clients) >= 10000 {
			// Bounded memory: forget buckets that are full again.
			for k, v := range l.clients {
				if now.Sub(v.last) > time.Duration(l.burst)*l.every {
					delete(l.clients, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.clients[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.every))
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return true, 0
}

// rateLimited answers 429 when the client has no attempts left.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := s.limiter.allow(clientIP(r), s.now())
	if ok {
		return false
	}
	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds())+1))
	s.m.Inc("facegate_web_login_limited_total")
	writeError(w, http.StatusTooManyRequests, "too many attempts; wait a little and try again")
	return true
}

type setupRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

// handleSetup sets the admin password once, with the setup code.
func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	if s.rateLimited(w, r) {
		return
	}
	var req setupRequest
	if !readJSON(w, r, &req) {
		return
	}
	s.setup.mu.Lock()
	defer s.setup.mu.Unlock()
	if s.setup.code == "" {
		writeError(w, http.StatusConflict, "setup is already done; log in instead")
		return
	}
	if subtle.ConstantTimeCompare([]byte(normalizeCode(req.Code)), []byte(s.setup.code)) != 1 {
		writeError(w, http.StatusForbidden, "wrong setup code (it is in the daemon's log)")
		return
	}
	if err := CheckPassword(req.Password); err != nil {
		s.writeErr(w, err)
		return
	}
	u := User{Name: AdminUser, PasswordHash: HashPassword(req.Password, s.opt.KDF), Admin: true, Created: s.now()}
	if err := s.opt.Auth.CreateFirstUser(r.Context(), u); err != nil {
		if n, cerr := s.opt.Auth.UserCount(r.Context()); cerr == nil && n > 0 {
			// Provisioned another way (CLI, another process) meanwhile.
			s.setup.code = ""
			writeError(w, http.StatusConflict, "setup is already done; log in instead")
			return
		}
		s.writeErr(w, err)
		return
	}
	s.setup.code = "" // single use
	s.log.Info("admin password set through the setup page", "client", clientIP(r))
	w.WriteHeader(http.StatusNoContent)
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.rateLimited(w, r) {
		return
	}
	var req loginRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Username == "" {
		req.Username = AdminUser
	}
	u, err := s.opt.Auth.User(r.Context(), req.Username)
	hash := u.PasswordHash
	if err != nil {
		if !errors.Is(err, gallery.ErrNotFound) {
			s.writeErr(w, err)
			return
		}
		hash = s.dummyHash // as slow as a real user's check
	}
	ok, verr := VerifyPassword(req.Password, hash)
	if err != nil || verr != nil || !ok || len(req.Password) > 4*MaxPasswordLen {
		s.m.Inc("facegate_web_login_failed_total")
		writeError(w, http.StatusUnauthorized, "wrong user name or password")
		return
	}
	tok := randomToken()
	now := s.now()
	sess := Session{TokenHash: hashToken(tok), User: u.Name, Created: now, Expires: now.Add(s.opt.SessionTTL)}
	if err := s.opt.Auth.PutSession(r.Context(), sess); err != nil {
		s.writeErr(w, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: tok, Path: "/", Expires: sess.Expires,
		MaxAge: int(s.opt.SessionTTL.Seconds()), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	if p.SessionHash != nil {
		if err := s.opt.Auth.DeleteSession(r.Context(), p.SessionHash); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

type passwordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// handlePassword changes the logged-in user's password.
func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	if p.SessionHash == nil {
		writeError(w, http.StatusForbidden, "log in with a password to change it (API tokens cannot)")
		return
	}
	if s.rateLimited(w, r) {
		return
	}
	var req passwordRequest
	if !readJSON(w, r, &req) {
		return
	}
	u, err := s.opt.Auth.User(r.Context(), p.User)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if ok, _ := VerifyPassword(req.Current, u.PasswordHash); !ok {
		writeError(w, http.StatusForbidden, "the current password is wrong")
		return
	}
	if err := CheckPassword(req.New); err != nil {
		s.writeErr(w, err)
		return
	}
	u.PasswordHash = HashPassword(req.New, s.opt.KDF)
	if err := s.opt.Auth.UpdateUser(r.Context(), u); err != nil {
		s.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type tokenRequest struct {
	Name string `json:"name"`
}

type tokenCreated struct {
	APIToken
	Token string `json:"token"` // shown once
}

func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.opt.Auth.APITokens(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if ts == nil {
		ts = []APIToken{}
	}
	writeJSON(w, http.StatusOK, ts)
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	p, _ := principalOf(r)
	if p.SessionHash == nil {
		writeError(w, http.StatusForbidden, "API tokens can only be created from a logged-in page")
		return
	}
	var req tokenRequest
	if !readJSON(w, r, &req) {
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > 100 {
		writeError(w, http.StatusBadRequest, "a token needs a name of 1 to 100 bytes")
		return
	}
	tok := tokenPrefix + randomToken()
	t := APIToken{ID: gallery.NewID(), Name: name, User: p.User, Hash: hashToken(tok), Created: s.now()}
	if err := s.opt.Auth.PutAPIToken(r.Context(), t); err != nil {
		s.writeErr(w, err)
		return
	}
	s.log.Info("API token created", "id", t.ID, "name", name)
	writeJSON(w, http.StatusCreated, tokenCreated{APIToken: t, Token: tok})
}

func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request) {
	if err := s.opt.Auth.DeleteAPIToken(r.Context(), r.PathValue("id")); err != nil {
		s.writeErr(w, err)
		return
	}
	s.log.Info("API token revoked", "id", r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}
