package ioutil

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// OutputClosed reports whether err, returned by a write to the local output
// (stdout), means that its reader went away: EPIPE (`sockcat … | head -c 10`),
// a closed file or pipe, or [ErrStdoutClosed] from [Pump]. Every caller
// treats that as a quiet, normal end.
func OutputClosed(err error) bool {
	return err != nil && (errors.Is(err, ErrStdoutClosed) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe))
}
