//go:build linux

package ioutil

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPumpPipeToStream runs the pipe transfers on the Linux fast path and
// checks that the pipe was enlarged (the fast path ran).
func TestPumpPipeToStream(t *testing.T) {
	pumpPipeCases(t, func(t *testing.T, pr *os.File) {
		sz, err := unix.FcntlInt(pr.Fd(), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			t.Fatal(err)
		}
		if max, err := os.ReadFile("/proc/sys/fs/pipe-max-size"); err == nil &&
			bytes.Equal(bytes.TrimSpace(max), []byte(strconv.Itoa(pipeBufSize))) && sz != pipeBufSize {
			t.Errorf("pipe size = %d, want %d (fast path not taken)", sz, pipeBufSize)
		}
	})
}

// TestPumpPipeToStreamPortableOnLinux runs the same transfers on the
// portable copy and checks that the pipe kept its size (the fast path did
// not run).
func TestPumpPipeToStreamPortableOnLinux(t *testing.T) {
	portableCopy = true
	t.Cleanup(func() { portableCopy = false })
	pumpPipeCases(t, func(t *testing.T, pr *os.File) {
		sz, err := unix.FcntlInt(pr.Fd(), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			t.Fatal(err)
		}
		if sz == pipeBufSize {
			t.Errorf("pipe size = %d: the fast path ran under portableCopy", sz)
		}
	})
}

// TestCopyPipeDeclines checks that everything but pipe → stream socket is
// left to io.Copy (which keeps sendfile for files; datagrams keep their
// boundaries).
func TestCopyPipeDeclines(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tcp, _ := streamPair(t, "tcp")
	if _, handled, _ := copyPipe(tcp, f, new(atomic.Int64)); handled {
		t.Error("regular file: handled, want io.Copy")
	}
	if _, handled, _ := copyPipe(tcp, bytes.NewReader(nil), new(atomic.Int64)); handled {
		t.Error("bytes.Reader: handled, want io.Copy")
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	if _, handled, _ := copyPipe(udp, pr, new(atomic.Int64)); handled {
		t.Error("UDP: handled, want io.Copy")
	}
}

// TestCopyPipeResetPeer checks that a peer that goes away mid-transfer is an
// error with the count of bytes handed to the kernel, never a silent end.
func TestCopyPipeResetPeer(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	defer pw.Close()
	client, server := streamPair(t, "tcp")
	server.(*net.TCPConn).SetLinger(0)
	go func() {
		io.CopyN(io.Discard, server, 1<<20)
		server.Close() // RST: unread data and linger 0
	}()
	n, handled, err := copyPipe(client, pr, new(atomic.Int64))
	if !handled || err == nil {
		t.Fatalf("copyPipe = %d, %v, %v; want handled with an error", n, handled, err)
	}
	if n < 1<<20 {
		t.Errorf("sent %d bytes, want at least the 1 MiB the peer read", n)
	}
}
