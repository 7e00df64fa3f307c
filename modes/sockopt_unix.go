//go:build unix

package modes

import "syscall"

// setsockoptInt sets an integer socket option on a descriptor.
func setsockoptInt(fd uintptr, level, opt, v int) error {
	return syscall.SetsockoptInt(int(fd), level, opt, v)
}
