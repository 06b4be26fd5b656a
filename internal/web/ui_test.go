package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestUIFilesObeyCSP checks the embedded page: no inline script, style or
// event handler (the CSP would block them), no innerHTML (data goes in with
// textContent), and every referenced /static file exists and is served
// with its type.
func TestUIFilesObeyCSP(t *testing.T) {
	h := newHarness(t, nil)
	cookie := h.setupAndLogin()
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	ref := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`)
	files, err := fs.Glob(h.s.ui, "*")
	if err != nil || len(files) < 6 {
		t.Fatalf("ui files: %v %v", files, err)
	}
	for _, name := range files {
		b, _ := fs.ReadFile(h.s.ui, name)
		text := string(b)
		switch {
		case strings.HasSuffix(name, ".html"):
			if m := inline.FindString(text); m != "" {
				t.Errorf("%s: inline code %q", name, m)
			}
			for _, m := range ref.FindAllStringSubmatch(text, -1) {
				w := h.do(req{method: "GET", path: m[1], cookie: cookie})
				if w.Code != 200 {
					t.Errorf("%s references %s: %d", name, m[1], w.Code)
				}
			}
		case strings.HasSuffix(name, ".js"):
			if strings.Contains(text, "innerHTML") || strings.Contains(text, "insertAdjacentHTML") || strings.Contains(text, "eval(") {
				t.Errorf("%s writes HTML or evaluates code", name)
			}
			w := h.do(req{method: "GET", path: "/static/" + name, cookie: cookie})
			if ct := w.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
				t.Errorf("%s served as %q", name, ct)
			}
		}
	}
	// The login and setup pages work before login: their assets are public.
	for _, p := range []string{"/static/style.css", "/static/auth.js", "/static/icon.svg"} {
		if w := h.do(req{method: "GET", path: p}); w.Code != 200 {
			t.Errorf("anonymous %s: %d", p, w.Code)
		}
	}
	for _, p := range []string{"/static/app.js", "/static/index.html", "/static/../ui/app.js"} {
		if w := h.do(req{method: "GET", path: p}); w.Code == 200 {
			t.Errorf("anonymous %s served", p)
		}
	}
}
