//go:build unix

package scan

import (
	"errors"
	"syscall"
)

// isRefused reports a connection refused: a TCP reset in answer to the
// SYN, or an ICMP port unreachable on a connected UDP socket.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// isReset reports a reset after the handshake completed: something
// accepted the connection.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// isMessageSize reports a datagram larger than the read buffer; Unix
// truncates it without an error.
func isMessageSize(error) bool { return false }

// isLocal reports errors about this host's resources rather than about the
// port: they end the scan instead of being reported per port.
func isLocal(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.EADDRNOTAVAIL, syscall.EAGAIN, syscall.EADDRINUSE, syscall.EAFNOSUPPORT, syscall.EINVAL, syscall.EBADF} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// setReuseAddr sets SO_REUSEADDR, so that probes can share a source port
// (each has its own peer).
func setReuseAddr(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
}
