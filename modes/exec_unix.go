//go:build !windows

package modes

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// shellName names the -c shell in messages.
const shellName = "sh -c"

// shellCommand runs CMD with /bin/sh -c.
func shellCommand(s string) *exec.Cmd { return exec.Command("/bin/sh", "-c", s) }

var (
	sigTERM = syscall.SIGTERM
	sigKILL = syscall.SIGKILL
)

// setProcessGroup starts the child in a process group of its own, so an
// interrupt reaches the whole tree.
func setProcessGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup signals the child's process group (it was started with
// Setpgid, so the group id is its pid).
func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil {
		syscall.Kill(pid, sig)
	}
}

// exitSignal reports the signal that killed a child.
func exitSignal(ee *exec.ExitError) (os.Signal, bool) {
	st, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !st.Signaled() {
		return nil, false
	}
	return st.Signal(), true
}

// signalName is "9 (killed)".
func signalName(s os.Signal) string {
	if sig, ok := s.(syscall.Signal); ok {
		return fmt.Sprintf("%d (%v)", int(sig), sig)
	}
	return s.String()
}
