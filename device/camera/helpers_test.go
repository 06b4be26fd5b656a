package camera

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testdata returns ../shared/testdata/<rel> from the module root (or
// $FACEGATE_TESTDATA/<rel>), skipping the test when it is absent.
func testdata(t testing.TB, rel string) string {
	t.Helper()
	base := os.Getenv("FACEGATE_TESTDATA")
	if base == "" {
		dir, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				t.Skip("module root not found")
			}
			dir = parent
		}
		base = filepath.Join(dir, "..", "shared", "testdata")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("test data %s not available: %v", p, err)
	}
	return p
}
