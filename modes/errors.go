package modes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"

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
	if le := localFileError(err); le != nil {
		return le // stdin or stdout failed, not the peer
	}
	return fmt.Errorf("%s %s: %w", op, addr, reason(err))
}

// localFileError returns "read stdin: REASON" or "write stdout: REASON"
// when err came from a local file (stdin a directory, stdout /dev/full)
// rather than the socket, and nil otherwise. A zero-copy copy from the
// socket to stdout reports the socket's own failures as a write to stdout
// too, so the network's errnos and timeouts stay with the peer.
func localFileError(err error) error {
	var pe *os.PathError
	if !errors.As(err, &pe) {
		return nil
	}
	var errno syscall.Errno
	if errors.As(pe.Err, &errno) {
		switch errno {
		case syscall.ECONNRESET, syscall.ECONNABORTED, syscall.ECONNREFUSED, syscall.ETIMEDOUT,
			syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN, syscall.EHOSTDOWN, syscall.ENOTCONN:
			return nil
		}
	}
	if errors.Is(pe.Err, os.ErrDeadlineExceeded) || errors.Is(pe.Err, net.ErrClosed) {
		return nil
	}
	name := pe.Path
	switch name {
	case "/dev/stdin":
		name = "stdin"
	case "/dev/stdout":
		name = "stdout"
	}
	return &labelled{fmt.Sprintf("%s %s: %v", pe.Op, name, reason(pe.Err)), pe}
}

// errPortUnreachable is how an ICMP port unreachable on UDP reads, in
// connect mode as in -z (the socket reports it as ECONNREFUSED).
const errPortUnreachable = "connection refused" // SPEC §4

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
		var oe *net.OpError
		if errno == syscall.ECONNREFUSED && errors.As(err, &oe) && strings.HasPrefix(oe.Net, "udp") {
			return &labelled{errPortUnreachable, errno}
		}
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
