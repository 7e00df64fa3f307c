package scan

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// isRefused reports a connection refused (WSAECONNREFUSED). Go turns off
// the reporting of ICMP port unreachable on UDP sockets (SIO_UDP_CONNRESET),
// so a closed UDP port reads as open|filtered on Windows.
func isRefused(err error) bool {
	return errors.Is(err, windows.WSAECONNREFUSED) || errors.Is(err, syscall.ECONNREFUSED)
}

// isReset reports a reset after the handshake completed (WSAECONNRESET).
func isReset(err error) bool {
	return errors.Is(err, windows.WSAECONNRESET) || errors.Is(err, syscall.ECONNRESET)
}

// isMessageSize reports a datagram larger than the read buffer
// (WSAEMSGSIZE): still a reply.
func isMessageSize(err error) bool { return errors.Is(err, windows.WSAEMSGSIZE) }

// isLocal reports errors about this host's resources rather than about the
// port: they end the scan instead of being reported per port.
func isLocal(err error) bool {
	for _, e := range []error{windows.WSAEMFILE, windows.WSAENOBUFS, windows.WSAEADDRNOTAVAIL,
		windows.WSAEADDRINUSE, windows.WSAEAFNOSUPPORT, windows.WSAEINVAL} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// setReuseAddr sets SO_REUSEADDR, so that probes can share a source port.
func setReuseAddr(fd uintptr) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
}
