//go:build unix

package scan

import "golang.org/x/sys/unix"

// fileLimit and raiseFileLimit read and raise the soft RLIMIT_NOFILE. Tests
// replace them: they must not lower the limit of the whole test process.
var (
	fileLimit      = systemFileLimit
	raiseFileLimit = systemRaiseFileLimit
)

// systemFileLimit is the soft and hard RLIMIT_NOFILE. The fields are
// uint64 on Linux and macOS, int64 on FreeBSD: both convert.
func systemFileLimit() (cur, hard uint64, err error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0, err
	}
	return uint64(rl.Cur), uint64(rl.Max), nil
}

// systemRaiseFileLimit raises the soft RLIMIT_NOFILE to the hard one.
func systemRaiseFileLimit() error {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	rl.Cur = rl.Max
	return unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
}

// isClosedPipe reports a write to a pipe whose reader has gone that
// syscall.EPIPE does not already cover (none on Unix).
func isClosedPipe(error) bool { return false }
