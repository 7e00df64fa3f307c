//go:build linux

package scan

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// newSocket opens a non-blocking, close-on-exec socket.
func newSocket(domain, typ int) (int, error) {
	return unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
}

// newPipe opens a non-blocking, close-on-exec pipe.
func newPipe(p *[2]int) error {
	return unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC)
}

// setRaw stores t's address in p as connect(2) takes it.
func (p *inflight) setRaw(t probe) {
	if !p.v6 {
		p.raw4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: t.addr.As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&p.raw4.Port))[:], t.port)
	} else {
		p.raw6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: t.addr.As16(), Scope_id: t.zone}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&p.raw6.Port))[:], t.port)
	}
}

// connectRaw is connect(2) of fd to p's target. It does not tell the Go
// scheduler about the call (RawSyscall): the socket is non-blocking, so the
// call returns within microseconds, while entering a system call the
// scheduler may wait on (unix.Connect) once per port lets the runtime hand
// the thread's P around, which on loopback costs more than the connect.
func (p *inflight) connectRaw(fd int) error {
	ptr, n := unsafe.Pointer(&p.raw4), unsafe.Sizeof(p.raw4)
	if p.v6 {
		ptr, n = unsafe.Pointer(&p.raw6), unsafe.Sizeof(p.raw6)
	}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(ptr), n)
	if e != 0 {
		return e
	}
	return nil
}
