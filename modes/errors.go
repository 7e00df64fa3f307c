package modes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// ErrNoOpenPorts reports that -z found no open port (exit 1, no message of
// its own beyond this).
var ErrNoOpenPorts = errors.New("no open ports")

// describe turns a dial or I/O error into the spec's one-line form
// "OP ADDR: REASON". It strips the *net.OpError and *os.SyscallError layers
// (whose text repeats the address and the syscall) down to the errno or DNS
// error, and keeps it wrapped so errors.Is still works.
func describe(op, addr string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%s %s: %w", op, addr, reason(err))
}

// reason is the innermost useful error of err.
func reason(err error) error {
	var se *ioutil.SendError
	if errors.As(err, &se) {
		return &ioutil.SendError{Sent: se.Sent, Err: reason(se.Err)}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return &labelled{"no such host", dnsErr}
		}
		if dnsErr.IsTimeout {
			return &labelled{"name lookup timed out", dnsErr}
		}
		return &labelled{"name lookup failed: " + dnsErr.Err, dnsErr}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return errTimeout
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return reason(oe.Err)
	}
	var sce *os.SyscallError
	if errors.As(err, &sce) {
		return sce.Err
	}
	return err
}

// errTimeout is the reason shown for a deadline that ran out.
var errTimeout = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string   { return "timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Is(e error) bool { return e == os.ErrDeadlineExceeded }

// labelled shows its own text while keeping err for errors.Is and errors.As.
type labelled struct {
	msg string
	err error
}

func (l *labelled) Error() string { return l.msg }
func (l *labelled) Unwrap() error { return l.err }

// aLongTimeAgo, used as a deadline, unblocks pending I/O at once.
var aLongTimeAgo = time.Unix(1, 0)
