package camera

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"facegate/internal/testenv"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeHelperEnv); mode != "" {
		// The test binary started as a capture helper (helper_test.go).
		os.Exit(fakeHelper(mode))
	}
	goleak.VerifyTestMain(m)
}

// testdata returns ../shared/testdata/<rel> from the module root (or
// $FACEGATE_TESTDATA/<rel>), skipping the test when it is absent.
func testdata(t testing.TB, rel string) string {
	return testenv.Testdata(t, rel)
}
