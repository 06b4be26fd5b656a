package camera

import (
	"os/exec"
	"syscall"
)

// setHelperAttrs makes the kernel kill the helper if the daemon dies
// without closing it (SIGKILL, a crash), so no orphan keeps the camera.
func setHelperAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
