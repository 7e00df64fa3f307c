//go:build linux

package ioutil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// streamPair returns the two ends of a loopback TCP or Unix stream connection.
func streamPair(t *testing.T, network string) (client, server net.Conn) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(t.TempDir(), "s")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestPumpPipeToStream sends pseudo-random data through a pipe on the local
// side of Pump and checks that the peer receives it sha256-identical, with
// the byte count, and that the pipe was enlarged (the fast path ran).
func TestPumpPipeToStream(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		for _, size := range []int{0, 1, pipeBufSize - 1, pipeBufSize + 1, 9<<20 + 123} {
			t.Run(network+"/"+strconv.Itoa(size), func(t *testing.T) {
				data := make([]byte, size)
				r := rand.New(rand.NewPCG(uint64(size), 7))
				for i := range data {
					data[i] = byte(r.Uint32())
				}
				pr, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer pr.Close()
				go func() {
					// Odd-sized writes, so reads see partial pipes.
					for b := data; len(b) > 0; {
						n := min(len(b), 77777)
						pw.Write(b[:n])
						b = b[n:]
					}
					pw.Close()
				}()
				client, server := streamPair(t, network)
				got := make(chan []byte, 1)
				go func() {
					b, _ := io.ReadAll(server)
					got <- b
					server.Close() // the peer closes after our FIN: Pump ends
				}()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				st, err := Pump(ctx, client, pr, io.Discard, PumpOptions{QuitAfter: -1})
				if err != nil {
					t.Fatalf("Pump: %v", err)
				}
				b := <-got
				if st.Sent != int64(size) || !st.SendDone {
					t.Errorf("Stats = %+v, want Sent=%d SendDone", st, size)
				}
				if sha256.Sum256(b) != sha256.Sum256(data) {
					t.Errorf("received %d bytes with a different sha256; want %d bytes", len(b), size)
				}
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
	}
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
