//go:build e2e

package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowser runs e2e/run.sh (headless chromium through playwright-core)
// against this package's server over fakes. The same script runs against the
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
	h := newHarness(t, func(o *Options) { o.HTTP.Listen = "127.0.0.1:0" })
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
	if ps, _ := h.f.gallery.People(context.Background()); len(ps) != 0 {
		t.Errorf("people left after the test: %+v", ps)
	}
	if h.f.gallery.writeCount() != 2 {
		t.Errorf("%d gallery writes, want 2 (create, delete)", h.f.gallery.writeCount())
	}
}

func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}
