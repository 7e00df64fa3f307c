//go:build !windows

package modes

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// msgTrunc is the recvmsg flag of a datagram cut to fit the buffer.
const msgTrunc = syscall.MSG_TRUNC

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
