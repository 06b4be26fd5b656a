//go:build !linux

package camera

import "os/exec"

// setHelperAttrs has nothing to add where there is no parent-death signal.
func setHelperAttrs(*exec.Cmd) {}
