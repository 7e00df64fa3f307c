package modes

import "syscall"

// msgTrunc: Windows reports a cut datagram as an error (WSAEMSGSIZE), not
// a flag.
const msgTrunc = 0

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
