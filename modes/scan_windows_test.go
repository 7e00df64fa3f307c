package modes

import (
	"testing"

	"golang.org/x/sys/windows"
)

// closedPort returns a TCP port of 127.0.0.1 that refuses connections for
// the rest of the test: a socket bound to it without listening holds it.
func closedPort(t *testing.T) int {
	t.Helper()
	fd, err := windows.Socket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { windows.Closesocket(fd) })
	if err := windows.Bind(fd, &windows.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := windows.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*windows.SockaddrInet4).Port
}

// blackholePort would be a port whose SYNs are dropped; Windows answers a
// full accept queue with a reset, so the tests that need one skip.
func blackholePort(t *testing.T) int {
	t.Skip("Windows resets connections to a full accept queue: no loopback port drops SYNs")
	return 0
}
