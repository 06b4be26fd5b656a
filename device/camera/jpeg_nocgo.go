//go:build !cgo

package camera

import (
	"errors"

	"facegate/pipeline/frame"
)

// turboJPEG is libjpeg-turbo's decoder where cgo is available; without
// cgo, frames go to image/jpeg.
type turboJPEG struct{}

func (*turboJPEG) decode(*frame.Frame, []byte) error {
	return errors.New("decode JPEG frame: built without libjpeg")
}

func (*turboJPEG) close() {}
