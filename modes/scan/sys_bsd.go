//go:build unix && !linux

package scan

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// newSocket opens a non-blocking, close-on-exec socket. macOS has no
// SOCK_NONBLOCK, so the flags are set after socket(2), under the fork lock
// as package net does.
func newSocket(domain, typ int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(domain, typ, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// newPipe opens a non-blocking, close-on-exec pipe.
func newPipe(p *[2]int) error {
	syscall.ForkLock.RLock()
	err := unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return err
	}
	unix.SetNonblock(p[0], true)
	unix.SetNonblock(p[1], true)
	return nil
}

// setRaw is never called off Linux: the raw form is the Linux engine's.
func (p *inflight) setRaw(t probe) { p.sa = sockaddr(t.addr, t.zone, int(t.port)) }

// connectRaw is the plain connect(2) off Linux.
func (p *inflight) connectRaw(fd int) error { return unix.Connect(fd, p.sa) }
