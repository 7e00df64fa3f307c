package scan

import (
	"errors"

	"golang.org/x/sys/windows"
)

// Windows has no per-process limit on sockets that a scan could meet
// before the system's own, so Concurrency is used as given.
var (
	fileLimit      = func() (cur, hard uint64, err error) { return 0, 0, errors.ErrUnsupported }
	raiseFileLimit = func() error { return errors.ErrUnsupported }
)

// isClosedPipe reports a write to a pipe whose reader has gone:
// ERROR_BROKEN_PIPE or ERROR_NO_DATA on Windows.
func isClosedPipe(err error) bool {
	return errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, windows.ERROR_NO_DATA)
}
