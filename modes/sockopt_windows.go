package modes

import "syscall"

// setsockoptInt sets an integer socket option on a socket handle.
func setsockoptInt(fd uintptr, level, opt, v int) error {
	return syscall.SetsockoptInt(syscall.Handle(fd), level, opt, v)
}
