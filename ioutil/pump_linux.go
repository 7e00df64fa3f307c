//go:build linux

package ioutil

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peerBytes reports how many bytes the peer of a TCP connection has sent
// (TCP_INFO tcpi_bytes_received, Linux 4.1+), looking through TLS and
// proxy wrappers; ok is false where the kernel cannot say.
func peerBytes(conn net.Conn) (n int64, ok bool) {
	for {
		if nc, wrapped := conn.(interface{ NetConn() net.Conn }); wrapped {
			conn = nc.NetConn()
			continue
		}
		break
	}
	tc, isTCP := conn.(interface {
		SyscallConn() (syscall.RawConn, error)
		SetKeepAlive(bool) error // only TCP connections have it
	})
	if !isTCP {
		return 0, false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var info *unix.TCPInfo
	cerr := rc.Control(func(fd uintptr) {
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if cerr != nil || err != nil {
		return 0, false
	}
	return int64(info.Bytes_received), true
}
