//go:build unix

package modes

import (
	"context"
	"io"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSocketOptions: --sndbuf, --rcvbuf, --ttl, --nodelay and --keepalive
// reach the socket; without them Nagle and keepalive keep nc's defaults.
func TestSocketOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	getopt := func(c net.Conn, level, opt int) int {
		raw, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var v int
		var gerr error
		raw.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), level, opt) })
		if gerr != nil {
			t.Fatal(gerr)
		}
		return v
	}
	dialWith := func(cfg *Config) net.Conn {
		cfg.Host = "127.0.0.1"
		cfg.Port = ln.Addr().(*net.TCPAddr).Port
		c, err := dialStream(context.Background(), cfg, Stdio{Err: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	def := dialWith(baseConfig())
	if v := getopt(def, unix.IPPROTO_TCP, unix.TCP_NODELAY); v != 0 {
		t.Errorf("default TCP_NODELAY = %d, want 0 (Nagle on, as nc)", v)
	}
	if v := getopt(def, unix.SOL_SOCKET, unix.SO_KEEPALIVE); v != 0 {
		t.Errorf("default SO_KEEPALIVE = %d, want 0", v)
	}

	cfg := baseConfig()
	cfg.Net.SndBuf = 64 << 10
	cfg.Net.RcvBuf = 128 << 10
	cfg.Net.TTL = 7
	cfg.Net.NoDelay = true
	cfg.Net.Keepalive = true
	c := dialWith(cfg)
	// Linux doubles the requested buffer sizes for bookkeeping.
	if v := getopt(c, unix.SOL_SOCKET, unix.SO_SNDBUF); v != 2*cfg.Net.SndBuf {
		t.Errorf("SO_SNDBUF = %d, want %d", v, 2*cfg.Net.SndBuf)
	}
	if v := getopt(c, unix.SOL_SOCKET, unix.SO_RCVBUF); v != 2*cfg.Net.RcvBuf {
		t.Errorf("SO_RCVBUF = %d, want %d", v, 2*cfg.Net.RcvBuf)
	}
	if v := getopt(c, unix.IPPROTO_IP, unix.IP_TTL); v != 7 {
		t.Errorf("IP_TTL = %d, want 7", v)
	}
	if v := getopt(c, unix.IPPROTO_TCP, unix.TCP_NODELAY); v != 1 {
		t.Errorf("--nodelay: TCP_NODELAY = %d, want 1", v)
	}
	if v := getopt(c, unix.SOL_SOCKET, unix.SO_KEEPALIVE); v != 1 {
		t.Errorf("--keepalive: SO_KEEPALIVE = %d, want 1", v)
	}
}

// refusedPort returns a TCP port where connections to 127.0.0.1 and ::1 are
// refused for the test's lifetime: sockets bound to it never listen, so no
// concurrent test can be given the port.
func refusedPort(t *testing.T) int {
	t.Helper()
	for try := 0; try < 20; try++ {
		fd4, err := streamSocket(unix.AF_INET)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Bind(fd4, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		sa, _ := unix.Getsockname(fd4)
		port := sa.(*unix.SockaddrInet4).Port
		fd6, err := streamSocket(unix.AF_INET6)
		if err == nil {
			unix.SetsockoptInt(fd6, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
			if err := unix.Bind(fd6, &unix.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}); err != nil {
				unix.Close(fd6)
				unix.Close(fd4)
				continue // taken on ::1; try another
			}
			t.Cleanup(func() { unix.Close(fd6) })
		}
		t.Cleanup(func() { unix.Close(fd4) })
		return port
	}
	t.Fatal("no port free on both 127.0.0.1 and ::1")
	return 0
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
