package grading

import (
	"os/exec"
	"syscall"
)

// setWorkerAttrs makes the worker die with the supervisor (go test kills the
// supervisor when its -timeout runs out).
func setWorkerAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
