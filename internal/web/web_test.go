package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"facegate/pipeline"
)

const testHost = "facegate.test"
const testOrigin = "https://" + testHost

// logCapture records log records so tests can read the setup code.
type logCapture struct {
	mu   sync.Mutex
	code string
	msgs []string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "setup_code" {
			c.code = a.Value.String()
		}
		return true
	})
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func (c *logCapture) setupCode() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}

// harness is a server over fakes with a settable clock.
type harness struct {
	t    *testing.T
	s    *Server
	f    *fakes
	log  *logCapture
	mu   sync.Mutex
	now  time.Time
	opts Options
}

func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, f: newFakes(), log: &logCapture{}, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	opt := h.f.options()
	opt.Logger = slog.New(h.log)
	opt.Now = func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }
	opt.StateDir = t.TempDir()
	if mod != nil {
		mod(&opt)
	}
	s, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	h.s, h.opts = s, opt
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return h
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

// req is one request for do.
type req struct {
	method, path string
	body         io.Reader
	ctype        string
	origin       string // "" : testOrigin for unsafe methods; "-": none
	cookie       string
	bearer       string
	remote       string
}

func (h *harness) do(r req) *httptest.ResponseRecorder {
	h.t.Helper()
	hr := httptest.NewRequest(r.method, "https://"+testHost+r.path, r.body)
	hr.Host = testHost
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	} else if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	switch r.origin {
	case "-":
	case "":
		if unsafeMethod(r.method) {
			hr.Header.Set("Origin", testOrigin)
		}
	default:
		hr.Header.Set("Origin", r.origin)
	}
	if r.cookie != "" {
		hr.AddCookie(&http.Cookie{Name: SessionCookie, Value: r.cookie})
	}
	if r.bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	w := httptest.NewRecorder()
	h.s.Handler().ServeHTTP(w, hr)
	return w
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// setupAndLogin sets the admin password with the logged code and returns a
// session cookie value.
func (h *harness) setupAndLogin() string {
	h.t.Helper()
	code := h.log.setupCode()
	if code == "" {
		h.t.Fatal("no setup code was logged")
	}
	if w := h.do(req{method: "POST", path: "/api/setup", body: jsonBody(map[string]string{"code": code, "password": "correct horse"})}); w.Code != 204 {
		h.t.Fatalf("setup: %d %s", w.Code, w.Body)
	}
	return h.login("correct horse")
}

func (h *harness) login(pw string) string {
	h.t.Helper()
	w := h.do(req{method: "POST", path: "/api/login", body: jsonBody(map[string]string{"username": "admin", "password": pw})})
	if w.Code != 204 {
		h.t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				h.t.Errorf("cookie attributes: %+v", c)
			}
			return c.Value
		}
	}
	h.t.Fatal("no session cookie")
	return ""
}

func errorText(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
		t.Errorf("status %d body %q is not {\"error\":...}", w.Code, w.Body)
	}
	return e.Error
}

// concretePath fills a pattern's wildcards.
func concretePath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "GET", pattern
	}
	r := strings.NewReplacer("{$}", "", "{file...}", "app.js", "{id}", "p1", "{sid}", "s1", "{name}", "door")
	path = r.Replace(path)
	if path == "/" && pattern == "/" {
		path = "/no/such/page"
	}
	return method, path
}

func TestEveryRouteRefusesAnonymous(t *testing.T) {
	h := newHarness(t, nil)
	h.setupAndLogin() // a configured device: no setup redirect
	public := 0
	for _, rt := range h.s.routeTable() {
		method, path := concretePath(rt.pattern)
		w := h.do(req{method: method, path: path, body: strings.NewReader(`{"name":"x"}`)})
		if rt.public {
			public++
			if w.Code == 401 {
				t.Errorf("%s: public route answered 401", rt.pattern)
			}
			continue
		}
		switch {
		case strings.HasPrefix(path, "/api/") || path == "/metrics" || strings.HasPrefix(path, "/static/"):
			if w.Code != 401 {
				t.Errorf("%s %s: anonymous got %d, want 401", method, path, w.Code)
				continue
			}
			errorText(t, w)
		case method == "GET":
			if w.Code != 303 || w.Header().Get("Location") != "/login" {
				t.Errorf("%s %s: anonymous got %d %q, want redirect to /login", method, path, w.Code, w.Header().Get("Location"))
			}
		default:
			if w.Code != 401 {
				t.Errorf("%s %s: anonymous got %d", method, path, w.Code)
			}
		}
	}
	if public != 9 {
		t.Errorf("%d public routes; the list changed: review it", public)
	}
	if h.f.gallery.writeCount() != 0 {
		t.Error("anonymous requests changed the gallery")
	}
	// A garbage cookie or token is anonymous too.
	for _, r := range []req{{method: "GET", path: "/api/people", cookie: "forged"}, {method: "GET", path: "/api/people", bearer: "fgt_forged"}, {method: "GET", path: "/api/people", bearer: "x"}} {
		if w := h.do(r); w.Code != 401 {
			t.Errorf("%+v: %d", r, w.Code)
		}
	}
}

func TestPagesRedirectToSetupFirst(t *testing.T) {
	h := newHarness(t, nil)
	if w := h.do(req{method: "GET", path: "/"}); w.Code != 303 || w.Header().Get("Location") != "/setup" {
		t.Errorf("fresh device: / → %d %q, want /setup", w.Code, w.Header().Get("Location"))
	}
	if w := h.do(req{method: "GET", path: "/login"}); w.Header().Get("Location") != "/setup" {
		t.Errorf("fresh device: /login → %q", w.Header().Get("Location"))
	}
	if w := h.do(req{method: "GET", path: "/setup"}); w.Code != 200 || !strings.Contains(w.Body.String(), "<form") {
		t.Errorf("setup page: %d", w.Code)
	}
	cookie := h.setupAndLogin()
	if w := h.do(req{method: "GET", path: "/setup"}); w.Header().Get("Location") != "/login" {
		t.Errorf("after setup: /setup → %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := h.do(req{method: "GET", path: "/login"}); w.Code != 200 || !strings.Contains(w.Body.String(), "login-password") {
		t.Errorf("login page: %d", w.Code)
	}
	if w := h.do(req{method: "GET", path: "/login", cookie: cookie}); w.Header().Get("Location") != "/" {
		t.Errorf("logged in: /login → %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := h.do(req{method: "GET", path: "/", cookie: cookie}); w.Code != 200 || !strings.Contains(w.Body.String(), "app.js") {
		t.Errorf("main page: %d", w.Code)
	}
}

func TestSetupCodeSingleUse(t *testing.T) {
	h := newHarness(t, nil)
	code := h.log.setupCode()
	if len(normalizeCode(code)) != 12 {
		t.Fatalf("setup code %q", code)
	}
	w := h.do(req{method: "POST", path: "/api/setup", body: jsonBody(map[string]string{"code": "AAAA-BBBB-CCCC", "password": "correct horse"})})
	if w.Code != 403 {
		t.Errorf("wrong code: %d", w.Code)
	}
	w = h.do(req{method: "POST", path: "/api/setup", body: jsonBody(map[string]string{"code": code, "password": "short"})})
	if w.Code != 400 || !strings.Contains(errorText(t, w), "8") {
		t.Errorf("short password: %d %s", w.Code, w.Body)
	}
	if n, _ := h.f.auth.UserCount(context.Background()); n != 0 {
		t.Fatal("refused setups created a user")
	}
	// Lower case and without dashes is accepted (typed on a phone).
	w = h.do(req{method: "POST", path: "/api/setup", body: jsonBody(map[string]string{"code": strings.ToLower(strings.ReplaceAll(code, "-", "")), "password": "correct horse"})})
	if w.Code != 204 {
		t.Fatalf("right code: %d %s", w.Code, w.Body)
	}
	w = h.do(req{method: "POST", path: "/api/setup", body: jsonBody(map[string]string{"code": code, "password": "stranger danger"})})
	if w.Code != 409 {
		t.Errorf("second use: %d", w.Code)
	}
	// The stranger's password does not work; the owner's does.
	if w := h.do(req{method: "POST", path: "/api/login", body: jsonBody(map[string]string{"username": "admin", "password": "stranger danger"})}); w.Code != 401 {
		t.Errorf("stranger login: %d", w.Code)
	}
	h.advance(time.Minute) // past the login rate limit
	h.login("correct horse")
	// The code was logged once, and a restarted server with a user logs none.
	h2 := newHarness(t, func(o *Options) { o.Auth = h.f.auth })
	if h2.log.setupCode() != "" {
		t.Error("a configured device logged a setup code")
	}
}

func TestProvisionedAdminPassword(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.AdminPassword = "provisioned-pw" })
	if h.log.setupCode() != "" {
		t.Error("setup code logged although the password was provisioned")
	}
	h.login("provisioned-pw")
	if _, err := New(context.Background(), Options{Auth: newFakeAuth(), AdminPassword: "short"}); err == nil {
		t.Error("short provisioned password accepted")
	}
}

func TestLoginRateLimit(t *testing.T) {
	h := newHarness(t, nil)
	h.setupAndLogin() // one attempt of setup, one login
	bad := req{method: "POST", path: "/api/login", body: nil}
	limited := false
	for i := range 10 {
		bad.body = jsonBody(map[string]string{"username": "admin", "password": "wrong password"})
		w := h.do(bad)
		if w.Code == 429 {
			limited = true
			if w.Header().Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if i > 5 {
				t.Errorf("limit bit only after %d attempts", i)
			}
			break
		}
		if w.Code != 401 {
			t.Fatalf("wrong password: %d", w.Code)
		}
	}
	if !limited {
		t.Fatal("10 wrong logins were never rate-limited")
	}
	// Even the right password is refused while limited...
	w := h.do(req{method: "POST", path: "/api/login", body: jsonBody(map[string]string{"username": "admin", "password": "correct horse"})})
	if w.Code != 429 {
		t.Errorf("right password while limited: %d", w.Code)
	}
	// ...another client is not affected...
	w = h.do(req{method: "POST", path: "/api/login", remote: "192.0.2.9:5555", body: jsonBody(map[string]string{"username": "admin", "password": "correct horse"})})
	if w.Code != 204 {
		t.Errorf("other client: %d", w.Code)
	}
	// ...and time heals.
	h.advance(time.Minute)
	h.login("correct horse")
}

func TestOriginChecked(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	body := func() io.Reader { return jsonBody(map[string]string{"name": "x"}) }
	for _, origin := range []string{"https://evil.example", "http://" + testHost, "-", "null"} {
		w := h.do(req{method: "POST", path: "/api/tokens", body: body(), cookie: cookie, origin: origin})
		if w.Code != 403 {
			t.Errorf("origin %q: %d, want 403", origin, w.Code)
		}
		w = h.do(req{method: "POST", path: "/api/login", origin: origin, body: jsonBody(map[string]string{"password": "correct horse"})})
		if origin != "-" && w.Code != 403 {
			t.Errorf("login with origin %q: %d", origin, w.Code)
		}
	}
	if toks, _ := h.f.auth.APITokens(context.Background()); len(toks) != 0 {
		t.Error("a cross-origin request created a token")
	}
	w := h.do(req{method: "POST", path: "/api/tokens", body: body(), cookie: cookie})
	if w.Code != 201 {
		t.Fatalf("same origin: %d %s", w.Code, w.Body)
	}
	var tok tokenCreated
	_ = json.Unmarshal(w.Body.Bytes(), &tok)
	// A bearer token needs no Origin (automations send none)...
	if w := h.do(req{method: "PUT", path: "/api/settings", bearer: tok.Token, origin: "-",
		body: jsonBody(map[string]any{"threshold": 0.4, "presence_timeout": "1m", "retention": "24h", "detector_model": "full"})}); w.Code != 200 {
		t.Errorf("bearer without origin: %d %s", w.Code, w.Body)
	}
	// ...but a wrong one is refused.
	if w := h.do(req{method: "DELETE", path: "/api/tokens/" + tok.ID, bearer: tok.Token, origin: "https://evil.example"}); w.Code != 403 {
		t.Errorf("bearer with a foreign origin: %d", w.Code)
	}
}

func TestTokensAndLogout(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	w := h.do(req{method: "POST", path: "/api/tokens", body: jsonBody(map[string]string{"name": "home assistant"}), cookie: cookie})
	var tok tokenCreated
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || !strings.HasPrefix(tok.Token, tokenPrefix) {
		t.Fatalf("create token: %d %s", w.Code, w.Body)
	}
	if stored, _ := h.f.auth.APITokens(context.Background()); len(stored) != 1 || bytes.Contains(stored[0].Hash, []byte(tok.Token)) || stored[0].User != "admin" {
		t.Error("token stored in clear")
	}
	if w := h.do(req{method: "GET", path: "/api/tokens", cookie: cookie}); strings.Contains(w.Body.String(), tok.Token) || !strings.Contains(w.Body.String(), "home assistant") {
		t.Errorf("token list: %s", w.Body)
	}
	if w := h.do(req{method: "GET", path: "/api/people", bearer: tok.Token}); w.Code != 200 {
		t.Errorf("bearer: %d", w.Code)
	}
	if w := h.do(req{method: "POST", path: "/api/tokens", bearer: tok.Token, body: jsonBody(map[string]string{"name": "more"})}); w.Code != 403 {
		t.Errorf("a token minted a token: %d", w.Code)
	}
	if w := h.do(req{method: "DELETE", path: "/api/tokens/" + tok.ID, cookie: cookie}); w.Code != 204 {
		t.Errorf("revoke: %d", w.Code)
	}
	if w := h.do(req{method: "GET", path: "/api/people", bearer: tok.Token}); w.Code != 401 {
		t.Errorf("revoked token: %d", w.Code)
	}
	// Sessions are stored hashed, expire, and end at logout.
	for hash := range h.f.auth.sessions {
		if strings.Contains(hash, cookie) {
			t.Error("session stored in clear")
		}
	}
	if w := h.do(req{method: "POST", path: "/api/logout", cookie: cookie}); w.Code != 204 {
		t.Errorf("logout: %d", w.Code)
	}
	if w := h.do(req{method: "GET", path: "/api/people", cookie: cookie}); w.Code != 401 {
		t.Errorf("after logout: %d", w.Code)
	}
	cookie = h.login("correct horse")
	h.advance(31 * 24 * time.Hour)
	if w := h.do(req{method: "GET", path: "/api/people", cookie: cookie}); w.Code != 401 {
		t.Errorf("expired session: %d", w.Code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do(req{method: "GET", path: "/setup"})
	for k, want := range map[string]string{
		"Content-Security-Policy":   "frame-ancestors 'none'",
		"Strict-Transport-Security": "max-age=",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
	} {
		if !strings.Contains(w.Header().Get(k), want) {
			t.Errorf("%s = %q, want %q", k, w.Header().Get(k), want)
		}
	}
	if c := w.Header().Get("Content-Security-Policy"); strings.Contains(c, "unsafe-inline") || strings.Contains(c, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %s", c)
	}
}

// multipartBody builds an enrollment upload.
func multipartBody(t *testing.T, name *string, photos ...[]byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if name != nil {
		_ = mw.WriteField("name", *name)
	}
	for i, p := range photos {
		fw, _ := mw.CreateFormFile("photo", "p"+string(rune('0'+i))+".jpg")
		_, _ = fw.Write(p)
	}
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

func strp(s string) *string { return &s }

func TestPeopleCRUD(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	body, ct := multipartBody(t, strp("김민수"), testJPEG(64, 64, -1), testJPEG(64, 64, 50))
	w := h.do(req{method: "POST", path: "/api/people", body: body, ctype: ct, cookie: cookie})
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var cr createResponse
	_ = json.Unmarshal(w.Body.Bytes(), &cr)
	if cr.Person.Name != "김민수" || len(cr.Photos) != 2 || !cr.Photos[0].OK || cr.Photos[1].OK || cr.Photos[1].Reason == "" {
		t.Errorf("create response: %+v", cr)
	}
	id := cr.Person.ID
	w = h.do(req{method: "PATCH", path: "/api/people/" + id, body: jsonBody(map[string]string{"name": "이영희"}), cookie: cookie})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "이영희") {
		t.Errorf("rename: %d %s", w.Code, w.Body)
	}
	w = h.do(req{method: "GET", path: "/api/people/" + id + "/samples", cookie: cookie})
	var ss []Sample
	if err := json.Unmarshal(w.Body.Bytes(), &ss); err != nil || len(ss) != 1 {
		t.Fatalf("samples: %s", w.Body)
	}
	if w := h.do(req{method: "GET", path: "/api/people/" + id + "/samples/" + ss[0].ID + "/face.jpg", cookie: cookie}); w.Code != 200 || w.Header().Get("Content-Type") != "image/jpeg" {
		t.Errorf("sample face: %d", w.Code)
	}
	w = h.do(req{method: "POST", path: "/api/people/from-track", body: jsonBody(map[string]any{"camera": "door", "track": 7, "name": "박지훈"}), cookie: cookie})
	if w.Code != 201 {
		t.Errorf("from track: %d %s", w.Code, w.Body)
	}
	if w := h.do(req{method: "DELETE", path: "/api/people/" + id + "/samples/" + ss[0].ID, cookie: cookie}); w.Code != 204 {
		t.Errorf("delete sample: %d", w.Code)
	}
	if w := h.do(req{method: "DELETE", path: "/api/people/" + id, cookie: cookie}); w.Code != 204 {
		t.Errorf("delete: %d", w.Code)
	}
	w = h.do(req{method: "GET", path: "/api/people", cookie: cookie})
	if strings.Contains(w.Body.String(), id) || !strings.Contains(w.Body.String(), "박지훈") {
		t.Errorf("list after delete: %s", w.Body)
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	body, ct := multipartBody(t, strp("seed"), testJPEG(32, 32, -1))
	if w := h.do(req{method: "POST", path: "/api/people", body: body, ctype: ct, cookie: cookie}); w.Code != 201 {
		t.Fatalf("seed: %d", w.Code)
	}
	ps, _ := h.f.gallery.People(context.Background())
	id := ps[0].ID
	writes := h.f.gallery.writeCount()
	before := h.do(req{method: "GET", path: "/api/people", cookie: cookie}).Body.String()

	big := append(testJPEG(16, 16, -1), make([]byte, MaxPhotoBytes)...)
	many := make([][]byte, MaxPhotos+1)
	for i := range many {
		many[i] = testJPEG(16, 16, -1)
	}
	mp := func(name *string, photos ...[]byte) req {
		b, ct := multipartBody(t, name, photos...)
		return req{method: "POST", path: "/api/people", body: b, ctype: ct}
	}
	cases := []struct {
		name   string
		r      req
		status int
		want   string
	}{
		{"no name", mp(nil, testJPEG(16, 16, -1)), 400, "name"},
		{"blank name", mp(strp("  "), testJPEG(16, 16, -1)), 400, "name"},
		{"control char name", mp(strp("a\x07b"), testJPEG(16, 16, -1)), 400, "control"},
		{"long name", mp(strp(strings.Repeat("가", 65)), testJPEG(16, 16, -1)), 400, "64"},
		{"no photo", mp(strp("x")), 400, "photo"},
		{"not an image", mp(strp("x"), []byte("hello, I am text")), 400, "not a JPEG"},
		{"truncated jpeg", mp(strp("x"), testJPEG(16, 16, -1)[:20]), 400, "photo 1"},
		{"oversize photo", mp(strp("x"), big), 400, "larger"},
		{"too many photos", mp(strp("x"), many...), 400, "at most"},
		{"faceless", mp(strp("x"), testJPEG(32, 32, 90)), 422, "no face"},
		{"not multipart", req{method: "POST", path: "/api/people", body: strings.NewReader(`{"name":"x"}`)}, 415, "multipart"},
		{"rename unknown", req{method: "PATCH", path: "/api/people/nope", body: jsonBody(map[string]string{"name": "y"})}, 404, "not found"},
		{"rename malformed", req{method: "PATCH", path: "/api/people/" + id, body: strings.NewReader(`{"name":`)}, 400, "malformed"},
		{"rename unknown field", req{method: "PATCH", path: "/api/people/" + id, body: strings.NewReader(`{"nam":"y"}`)}, 400, "unknown field"},
		{"rename empty", req{method: "PATCH", path: "/api/people/" + id, body: jsonBody(map[string]string{"name": ""})}, 400, "empty"},
		{"rename huge", req{method: "PATCH", path: "/api/people/" + id, body: strings.NewReader(`{"name":"` + strings.Repeat("a", maxJSON) + `"}`)}, 413, "larger"},
		{"delete unknown", req{method: "DELETE", path: "/api/people/nope"}, 404, "not found"},
		{"delete unknown sample", req{method: "DELETE", path: "/api/people/" + id + "/samples/nope"}, 404, "not found"},
		{"from track unknown", req{method: "POST", path: "/api/people/from-track", body: jsonBody(map[string]any{"camera": "door", "track": 3, "name": "z"})}, 404, "not found"},
		{"from track no track", req{method: "POST", path: "/api/people/from-track", body: jsonBody(map[string]any{"camera": "door", "name": "z"})}, 400, "track"},
		{"settings bad threshold", req{method: "PUT", path: "/api/settings", body: jsonBody(map[string]any{"threshold": 1.5, "presence_timeout": "1m", "detector_model": "short"})}, 400, "threshold"},
		{"settings bad duration", req{method: "PUT", path: "/api/settings", body: jsonBody(map[string]any{"presence_timeout": "soon", "detector_model": "short"})}, 400, "soon"},
		{"settings bad model", req{method: "PUT", path: "/api/settings", body: jsonBody(map[string]any{"presence_timeout": "1m", "detector_model": "huge"})}, 400, "detector_model"},
		{"events bad limit", req{method: "GET", path: "/api/events?limit=0"}, 400, "limit"},
		{"events bad known", req{method: "GET", path: "/api/events?known=maybe"}, 400, "known"},
		{"thumb unknown", req{method: "GET", path: "/api/events/nope/thumb"}, 404, "not found"},
		{"snapshot unknown camera", req{method: "GET", path: "/api/cameras/attic/snapshot.jpg"}, 404, "not found"},
		{"restore garbage", req{method: "POST", path: "/api/restore", body: strings.NewReader("garbage"), ctype: "application/octet-stream"}, 400, "backup"},
		{"token no name", req{method: "POST", path: "/api/tokens", body: jsonBody(map[string]string{"name": ""})}, 400, "name"},
		{"revoke unknown token", req{method: "DELETE", path: "/api/tokens/nope"}, 404, "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.cookie = cookie
			w := h.do(tc.r)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if msg := errorText(t, w); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
		})
	}
	if h.f.gallery.writeCount() != writes {
		t.Error("bad input changed the gallery")
	}
	if after := h.do(req{method: "GET", path: "/api/people", cookie: cookie}).Body.String(); after != before {
		t.Errorf("people changed:\n%s\n%s", before, after)
	}
	if st, _ := h.f.settings.Settings(context.Background()); st.DetectorModel != "short" || st.Threshold != 0 {
		t.Errorf("settings changed: %+v", st)
	}
	if string(h.f.backups.data) != "FGDB backup" {
		t.Error("restore of garbage changed the state")
	}
}

func TestEventsAndSettings(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	type evPage struct {
		Events []struct {
			ID   string  `json:"id"`
			Name *string `json:"name"`
		} `json:"events"`
		Next string `json:"next"`
	}
	var page evPage
	w := h.do(req{method: "GET", path: "/api/events?limit=2&camera=door", cookie: cookie})
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Events) != 2 || page.Next == "" {
		t.Fatalf("events page 1: %s", w.Body)
	}
	w = h.do(req{method: "GET", path: "/api/events?limit=2&before=" + page.Next, cookie: cookie})
	var page2 evPage
	_ = json.Unmarshal(w.Body.Bytes(), &page2)
	if len(page2.Events) != 2 || page2.Events[0].ID == page.Events[1].ID {
		t.Errorf("events page 2: %s", w.Body)
	}
	w = h.do(req{method: "GET", path: "/api/events?known=false", cookie: cookie})
	if strings.Contains(w.Body.String(), "김민수") || !strings.Contains(w.Body.String(), `"name":null`) {
		t.Errorf("unknown events: %s", w.Body)
	}
	w = h.do(req{method: "PUT", path: "/api/settings", cookie: cookie, body: jsonBody(map[string]any{"threshold": 0.45, "presence_timeout": "90s", "retention": "48h", "detector_model": "full"})})
	if w.Code != 200 {
		t.Fatalf("settings: %d %s", w.Code, w.Body)
	}
	w = h.do(req{method: "GET", path: "/api/settings", cookie: cookie})
	if !strings.Contains(w.Body.String(), `"presence_timeout":"1m30s"`) || !strings.Contains(w.Body.String(), `"full"`) {
		t.Errorf("settings read back: %s", w.Body)
	}
	if w := h.do(req{method: "GET", path: "/api/backup", cookie: cookie}); w.Body.String() != "FGDB backup" || !strings.Contains(w.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("backup: %s", w.Body)
	}
	if w := h.do(req{method: "POST", path: "/api/restore", cookie: cookie, ctype: "application/octet-stream", body: strings.NewReader("FGDB new")}); w.Code != 204 || string(h.f.backups.data) != "FGDB new" {
		t.Errorf("restore: %d", w.Code)
	}
	if w := h.do(req{method: "GET", path: "/api/cameras/door/snapshot.jpg", cookie: cookie}); w.Code != 200 || w.Header().Get("Content-Type") != "image/jpeg" {
		t.Errorf("snapshot: %d", w.Code)
	}
	if w := h.do(req{method: "GET", path: "/healthz"}); w.Code != 200 {
		t.Errorf("healthz: %d", w.Code)
	}
}

func TestMetricsText(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	h.s.Metrics().Collect(func(w *MetricWriter) {
		w.Histogram("facegate_stage_seconds", "Per-stage latency.", []float64{0.001, 0.01}, []uint64{3, 2, 1}, 0.05, "stage", "detect")
		w.Counter("facegate_frames_total", "Frames.", 10, "source", `do"or`)
		w.Counter("facegate_frames_total", "Frames.", 4, "source", "phone")
	})
	w := h.do(req{method: "GET", path: "/metrics", cookie: cookie})
	out := w.Body.String()
	for _, want := range []string{
		"# TYPE facegate_stage_seconds histogram",
		`facegate_stage_seconds_bucket{stage="detect",le="0.001"} 3`,
		`facegate_stage_seconds_bucket{stage="detect",le="0.01"} 5`,
		`facegate_stage_seconds_bucket{stage="detect",le="+Inf"} 6`,
		`facegate_stage_seconds_count{stage="detect"} 6`,
		`facegate_frames_total{source="do\"or"} 10`,
		"facegate_web_stream_clients 0",
		"# TYPE facegate_web_requests_total counter",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "# TYPE facegate_frames_total") != 1 {
		t.Error("a family's TYPE line is repeated")
	}
}

// sseReader reads events from a stream.
type sseReader struct{ r *bufio.Reader }

func (s sseReader) next() (event, data string, err error) {
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && event != "":
			return event, data, nil
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

// until reads events until one named event satisfies ok.
func (s sseReader) until(t *testing.T, event string, ok func(string) bool) {
	t.Helper()
	for {
		e, d, err := s.next()
		if err != nil {
			t.Fatalf("stream ended waiting for %s: %v", event, err)
		}
		if e == event && ok(d) {
			return
		}
	}
}

func TestStreamReachesEveryPage(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	srv := httptest.NewUnstartedServer(h.s.Handler())
	srv.StartTLS()
	defer srv.Close()
	origin := srv.URL
	open := func() (sseReader, func()) {
		r, _ := http.NewRequest("GET", srv.URL+"/api/stream", nil)
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		s := sseReader{bufio.NewReader(resp.Body)}
		s.until(t, "hello", func(string) bool { return true })
		return s, func() { resp.Body.Close() }
	}
	a, closeA := open()
	defer closeA()
	b, closeB := open()
	defer closeB()
	if n := h.s.Broker().Clients(); n != 2 {
		t.Errorf("%d clients, want 2", n)
	}
	body, ct := multipartBody(t, strp("김민수"), testJPEG(32, 32, -1))
	r, _ := http.NewRequest("POST", srv.URL+"/api/people", body)
	r.Header.Set("Content-Type", ct)
	r.Header.Set("Origin", origin)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie})
	resp, err := srv.Client().Do(r)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v %v", err, resp)
	}
	resp.Body.Close()
	has := func(d string) bool { return strings.Contains(d, "김민수") }
	a.until(t, "people", has)
	b.until(t, "people", has)
	// Pushed events from the app reach both as well.
	h.s.Broker().Publish("event", map[string]string{"name": "이영희"})
	a.until(t, "event", func(d string) bool { return strings.Contains(d, "이영희") })
	b.until(t, "event", func(d string) bool { return strings.Contains(d, "이영희") })
	// Shutdown ends open streams instead of waiting for them.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.next(); err == nil {
		t.Error("stream still open after Shutdown")
	}
}

func TestBrokerDropsNeverBlock(t *testing.T) {
	b := NewBroker(2)
	c, _ := b.subscribe()
	for i := range 10 {
		b.Publish("x", i) // nobody reads: must not block
	}
	if len(c.ch) != 2 || b.Dropped() != 8 || !c.lagged.Load() {
		t.Errorf("buffered %d dropped %d lagged %v", len(c.ch), b.Dropped(), c.lagged.Load())
	}
	b.Close()
	b.Close()
	if _, ok := b.subscribe(); ok {
		t.Error("subscribe after Close")
	}
}

func TestListenServeShutdown(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, func(o *Options) {
		o.StateDir = dir
		o.HTTP.Listen = "127.0.0.1:0"
		o.HTTP.RedirectListen = "127.0.0.1:0"
	})
	if err := h.s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.s.Serve() }()
	st, err := os.Stat(filepath.Join(dir, keyName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st, err)
	}
	addr := h.s.Addr().String()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("healthz over TLS: %d %+v", resp.StatusCode, resp.TLS)
	}
	cert := resp.TLS.PeerCertificates[0]
	if len(cert.IPAddresses) == 0 || !cert.IPAddresses[0].IsLoopback() {
		t.Errorf("certificate SANs: %v %v", cert.DNSNames, cert.IPAddresses)
	}
	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get("https://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("TLS 1.1 accepted")
	}
	// The redirect listener only redirects.
	h.s.mu.Lock()
	raddr := h.s.rln.Addr().String()
	h.s.mu.Unlock()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get("http://" + raddr + "/api/people?x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(addr, ":")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://127.0.0.1:"+port+"/api/people?x=1" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	// The generated certificate is reused on the next start.
	before, _ := os.ReadFile(filepath.Join(dir, certName))
	h2 := newHarness(t, func(o *Options) { o.StateDir = dir; o.HTTP.Listen = "127.0.0.1:0" })
	if err := h2.s.Listen(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, certName))
	if !bytes.Equal(before, after) {
		t.Error("certificate regenerated on restart")
	}
}

func TestPasswordHash(t *testing.T) {
	p := KDFParams{MemoryKiB: 64, Time: 1, Threads: 1}
	h1, h2 := HashPassword("비밀번호 123", p), HashPassword("비밀번호 123", p)
	if h1 == h2 {
		t.Error("no salt")
	}
	if ok, err := VerifyPassword("비밀번호 123", h1); !ok || err != nil {
		t.Errorf("verify: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword("비밀번호 124", h1); ok {
		t.Error("wrong password accepted")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=0,t=1,p=1$AA$AA", "$bcrypt$x", h1[:len(h1)-10]} {
		if ok, _ := VerifyPassword("x", bad); ok {
			t.Errorf("malformed hash %q verified", bad)
		}
	}
}

func TestPasswordChange(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	if w := h.do(req{method: "POST", path: "/api/password", cookie: cookie, body: jsonBody(map[string]string{"current": "wrong one!", "new": "new password 2"})}); w.Code != 403 {
		t.Errorf("wrong current password: %d", w.Code)
	}
	if w := h.do(req{method: "POST", path: "/api/password", cookie: cookie, body: jsonBody(map[string]string{"current": "correct horse", "new": "short"})}); w.Code != 400 {
		t.Errorf("short new password: %d", w.Code)
	}
	if w := h.do(req{method: "POST", path: "/api/password", cookie: cookie, body: jsonBody(map[string]string{"current": "correct horse", "new": "새 비밀번호 입니다"})}); w.Code != 204 {
		t.Fatalf("change: %d %s", w.Code, w.Body)
	}
	h.advance(time.Minute)
	if w := h.do(req{method: "POST", path: "/api/login", body: jsonBody(map[string]string{"password": "correct horse"})}); w.Code != 401 {
		t.Errorf("old password still works: %d", w.Code)
	}
	h.login("새 비밀번호 입니다")
}

func TestAbsentDependenciesAnswer503(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Gallery, o.Events, o.Live, o.Backups, o.Settings = nil, nil, nil, nil, nil })
	cookie := h.setupAndLogin()
	for _, path := range []string{"/api/people", "/api/events", "/api/settings", "/api/backup", "/api/cameras/door/snapshot.jpg"} {
		if w := h.do(req{method: "GET", path: path, cookie: cookie}); w.Code != 503 {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
	if w := h.do(req{method: "GET", path: "/api/cameras", cookie: cookie}); w.Code != 200 || strings.TrimSpace(w.Body.String()) != "[]" {
		t.Errorf("cameras without Live: %d %s", w.Code, w.Body)
	}
}

func TestMetricsPipelineAndEvents(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	h.s.PublishEvent(pipeline.Event{Type: pipeline.EventRecognized, Camera: "door", Similarity: 0.65, PersonID: "p", Name: "김민수"})
	h.s.PublishEvent(pipeline.Event{Type: pipeline.EventRecognized, Camera: "door", Similarity: 0.95, PersonID: "p", Name: "김민수"})
	h.s.PublishEvent(pipeline.Event{Type: pipeline.EventUnknown, Camera: "door"})
	st := pipeline.Stats{Camera: "door", Frames: 100, Dropped: 3, Faces: 90, Embeds: 5, Tracks: 1}
	st.Stages[pipeline.StageDetect] = pipeline.StageStats{Count: 100, Mean: 2 * time.Millisecond, P50: 2 * time.Millisecond, P90: 3 * time.Millisecond, P99: 4 * time.Millisecond}
	h.s.Metrics().Collect(func(w *MetricWriter) { WritePipelineStats(w, st) })
	out := h.do(req{method: "GET", path: "/metrics", cookie: cookie}).Body.String()
	for _, want := range []string{
		`facegate_events_total{type="recognized",camera="door"} 2`,
		`facegate_events_total{type="unknown",camera="door"} 1`,
		`facegate_match_similarity_bucket{le="0.7"} 1`,
		`facegate_match_similarity_bucket{le="1"} 2`,
		`facegate_match_similarity_count 2`,
		`facegate_frames_processed_total{camera="door"} 100`,
		`facegate_frames_dropped_total{camera="door"} 3`,
		"# TYPE facegate_stage_seconds summary",
		`facegate_stage_seconds{camera="door",stage="detect",quantile="0.9"} 0.003`,
		`facegate_stage_seconds_count{camera="door",stage="detect"} 100`,
		`facegate_stage_seconds_sum{camera="door",stage="detect"} 0.2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}
