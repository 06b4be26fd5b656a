package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the configuration reference in README.md")

const (
	refStart = "<!-- config-reference:start (generated from internal/config; go test ./internal/config -update-readme) -->"
	refEnd   = "<!-- config-reference:end -->"
)

// TestReadmeReference keeps the README's configuration reference equal to
// what the config struct says, so the two cannot drift.
func TestReadmeReference(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, refStart), strings.Index(s, refEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q … %q", refStart, refEnd)
	}
	want := refStart + "\n\n" + Reference() + "\n" + refEnd
	got := s[i : j+len(refEnd)]
	if got == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(path, []byte(s[:i]+want+s[j+len(refEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Error("README.md's configuration reference is stale: run go test ./internal/config -run ReadmeReference -update-readme")
}
