package modes

import (
	"os"
	"os/exec"
	"syscall"
)

// shellName names the -c shell in messages.
const shellName = "cmd.exe /C"

// shellCommand runs CMD with cmd.exe /C (SPEC §16).
func shellCommand(s string) *exec.Cmd { return exec.Command("cmd.exe", "/C", s) }

var (
	sigTERM = syscall.SIGTERM
	sigKILL = syscall.SIGKILL
)

// setProcessGroup does nothing: Windows has no process groups to signal.
func setProcessGroup(*exec.Cmd) {}

// signalGroup ends the child: Windows delivers no SIGTERM, so both signals
// kill it.
func signalGroup(pid int, _ syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// exitSignal: Windows children are not killed by signals.
func exitSignal(*exec.ExitError) (os.Signal, bool) { return nil, false }

func signalName(s os.Signal) string { return s.String() }
