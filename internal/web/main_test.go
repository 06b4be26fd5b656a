package web

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind (event
// streams, listeners, the server's Serve loops).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
