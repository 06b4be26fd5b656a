//go:build e2e

package web

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"facegate/internal/testenv"
)

// TestBrowser runs e2e/run.sh (headless chromium through playwright-core)
// against this package's server with the real gallery service and models
// (only the bbolt store, events and cameras are fakes). The same script runs against the
// real daemon when given its URL and setup code.
//
//	go test -tags e2e -run TestBrowser ./internal/web/
func TestBrowser(t *testing.T) {
	for _, bin := range []string{"node", "npm"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed: the browser test needs Node.js", bin)
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Skip("/usr/bin/chromium not installed (apt-get install chromium)")
	}
	root := moduleRoot(t)
	g, err := newServiceGallery()
	if err != nil {
		t.Fatalf("real gallery with the shipped models: %v", err)
	}
	defer g.close()
	h := newHarness(t, func(o *Options) { o.HTTP.Listen = "127.0.0.1:0"; o.Gallery = g })
	if err := h.s.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.s.Serve() }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "e2e", "run.sh"))
	cmd.Env = append(os.Environ(),
		"FACEGATE_URL=https://"+h.s.Addr().String(),
		"FACEGATE_SETUP_CODE="+h.log.setupCode(),
		"FACEGATE_ADMIN_PASSWORD=e2e-password-1",
	)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser test failed (screenshots in test-artifacts/): %v", err)
	}
	if ps := g.svc.People(); len(ps) != 0 {
		t.Errorf("people left after the test: %+v", ps)
	}
	refusesFaceless(t, h, root)
}

// refusesFaceless uploads a photo without a face to the same server: the
// real detector refuses it with 422 and the gallery stays empty.
func refusesFaceless(t *testing.T, h *harness, root string) {
	dir := os.Getenv("FACEGATE_TESTDATA")
	if dir == "" {
		dir = filepath.Join(root, "..", "shared", "testdata")
	}
	photo, err := os.ReadFile(filepath.Join(dir, "faces", "_noface", "landscape_sea.jpg"))
	if err != nil {
		t.Logf("no faceless photo to try (%v)", err)
		return
	}
	base := "https://" + h.s.Addr().String()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	post := func(path, ctype string, body io.Reader) *http.Response {
		r, _ := http.NewRequest("POST", base+path, body)
		r.Header.Set("Content-Type", ctype)
		r.Header.Set("Origin", base)
		resp, err := c.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if resp := post("/api/login", "application/json", strings.NewReader(`{"username":"admin","password":"e2e-password-1"}`)); resp.StatusCode != 204 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	body, ct := multipartBody(t, strp("김민수"), photo)
	resp := post("/api/people", ct, body)
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 422 || !strings.Contains(string(msg), "no face") {
		t.Errorf("faceless photo: %d %s", resp.StatusCode, msg)
	}
	if ps := h.opts.Gallery.(*serviceGallery).svc.People(); len(ps) != 0 {
		t.Errorf("a faceless photo enrolled %+v", ps)
	}
}

func moduleRoot(t *testing.T) string {
	return testenv.ModuleRoot(t)
}
