//go:build !windows

package modes

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Socket options set by control.
const (
	solSocket         = unix.SOL_SOCKET
	soSndbuf          = unix.SO_SNDBUF
	soRcvbuf          = unix.SO_RCVBUF
	soBroadcast       = unix.SO_BROADCAST
	ipprotoIP         = unix.IPPROTO_IP
	ipTTL             = unix.IP_TTL
	ipMulticastTTL    = unix.IP_MULTICAST_TTL
	ipprotoIPv6       = unix.IPPROTO_IPV6
	ipv6UnicastHops   = unix.IPV6_UNICAST_HOPS
	ipv6MulticastHops = unix.IPV6_MULTICAST_HOPS
)

// msgTrunc is the recvmsg flag of a datagram cut to fit the buffer.
const msgTrunc = syscall.MSG_TRUNC

func setsockoptInt(fd uintptr, level, opt, v int) error {
	return unix.SetsockoptInt(int(fd), level, opt, v)
}

// readFD reads once from a non-blocking socket; wouldBlock reports that
// nothing was there.
func readFD(fd uintptr, b []byte) (n int, wouldBlock bool, err error) {
	for {
		n, err = unix.Read(int(fd), b)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EAGAIN {
		return 0, true, nil
	}
	return n, false, err
}
