package modes

import "syscall"

// Socket options set by control (Winsock values).
const (
	solSocket         = syscall.SOL_SOCKET
	soSndbuf          = syscall.SO_SNDBUF
	soRcvbuf          = syscall.SO_RCVBUF
	soBroadcast       = syscall.SO_BROADCAST
	ipprotoIP         = syscall.IPPROTO_IP
	ipTTL             = 4 // IP_TTL
	ipMulticastTTL    = syscall.IP_MULTICAST_TTL
	ipprotoIPv6       = syscall.IPPROTO_IPV6
	ipv6UnicastHops   = 4 // IPV6_UNICAST_HOPS
	ipv6MulticastHops = syscall.IPV6_MULTICAST_HOPS
)

// msgTrunc: Windows reports a cut datagram as an error (WSAEMSGSIZE), not
// a flag.
const msgTrunc = 0

func setsockoptInt(fd uintptr, level, opt, v int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), level, opt, v)
}

// readFD reads once from a socket. On Windows the raw read is not used:
// wouldBlock is always false and the buffer is held while waiting.
func readFD(fd uintptr, b []byte) (n int, wouldBlock bool, err error) {
	var done uint32
	buf := syscall.WSABuf{Len: uint32(len(b)), Buf: &b[0]}
	var flags uint32
	err = syscall.WSARecv(syscall.Handle(fd), &buf, 1, &done, &flags, nil, nil)
	if err == syscall.Errno(10035) { // WSAEWOULDBLOCK
		return 0, true, nil
	}
	return int(done), false, err
}
