//go:build unix

package main

import "golang.org/x/sys/unix"

// reserveClosedPort binds a TCP socket on 127.0.0.1:0 without listening.
func reserveClosedPort() (int, func(), error) {
	fd, err := streamSocket(unix.AF_INET)
	if err != nil {
		return 0, nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return 0, nil, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return 0, nil, err
	}
	return sa.(*unix.SockaddrInet4).Port, func() { unix.Close(fd) }, nil
}

// streamSocket makes a TCP socket that child processes do not inherit
// (SOCK_CLOEXEC is not in every platform's socket(2)).
func streamSocket(domain int) (int, error) {
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	return fd, err
}
