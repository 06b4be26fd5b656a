//go:build !linux

package camera

import (
	"context"
	"fmt"
)

// openV4L2 hands cameras to the capture helper: V4L2 is Linux's.
func openV4L2(ctx context.Context, s spec, cfg Config) (capture, error) {
	return nil, fmt.Errorf("V4L2 cameras are read in process on Linux only: %w", errNotNative)
}
