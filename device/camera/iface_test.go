package camera_test

import (
	"facegate/device/camera"
	"facegate/pipeline"
)

// A Camera is a pipeline source without device/camera importing pipeline.
var _ pipeline.Source = (*camera.Camera)(nil)
