// Package testenv finds what tests read from outside their package: the
// module root, and the shared photos, videos and reference outputs that
// live beside the repository (../shared) and are never committed. Only
// tests import it.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot walks up from the test's directory to go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
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
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Shared returns ../shared (from the module root) joined with rel.
func Shared(t testing.TB, rel ...string) string {
	t.Helper()
	return filepath.Join(append([]string{ModuleRoot(t), "..", "shared"}, rel...)...)
}

// Testdata returns the shared test photos and videos joined with rel:
// $FACEGATE_TESTDATA when set, else ../shared/testdata. It skips the test,
// saying so, when that path does not exist.
func Testdata(t testing.TB, rel ...string) string {
	t.Helper()
	root := os.Getenv("FACEGATE_TESTDATA")
	if root == "" {
		root = Shared(t, "testdata")
	}
	p := filepath.Join(append([]string{root}, rel...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("test data absent (%v): set FACEGATE_TESTDATA or provide ../shared/testdata", err)
	}
	return p
}
