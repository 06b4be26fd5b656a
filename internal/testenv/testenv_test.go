package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestModuleRootHasGoMod(t *testing.T) {
	if _, err := os.Stat(filepath.Join(ModuleRoot(t), "go.mod")); err != nil {
		t.Fatal(err)
	}
}

func TestTestdataFollowsTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FACEGATE_TESTDATA", dir)
	if got := Testdata(t, "x"); got != filepath.Join(dir, "x") {
		t.Errorf("Testdata = %s", got)
	}
	skipped := true
	t.Run("absent", func(t *testing.T) {
		Testdata(t, "missing")
		skipped = false
	})
	if !skipped {
		t.Error("a missing file did not skip")
	}
}
