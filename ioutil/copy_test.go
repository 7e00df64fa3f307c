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
	"testing"
	"time"
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

// pumpPipeCases sends pseudo-random data through a pipe on the local
// side of Pump and checks that the peer receives it sha256-identical, with
// the byte count; check then looks at the pipe.
func pumpPipeCases(t *testing.T, check func(*testing.T, *os.File)) {
	for _, network := range []string{"tcp", "unix"} {
		for _, size := range []int{0, 1, 1<<20 - 1, 1<<20 + 1, 9<<20 + 123} {
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
				check(t, pr)
			})
		}
	}
}

// TestPumpPipeToStreamPortable runs the pipe transfers on the portable copy
// (the only path off Linux).
func TestPumpPipeToStreamPortable(t *testing.T) {
	portableCopy = true
	t.Cleanup(func() { portableCopy = false })
	pumpPipeCases(t, func(*testing.T, *os.File) {})
}

// TestCopyPipeBufferSize checks that the portable copy reads at most -B
// bytes at a time, and uses the whole buffer when the input has it.
func TestCopyPipeBufferSize(t *testing.T) {
	for _, size := range []int{1, 4096, DefaultCopyBuffer, 1 << 20} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			data := bytes.Repeat([]byte("sockcat!"), 3*size/8+5)
			r := &recordingReader{r: bytes.NewReader(data)}
			var out bytes.Buffer
			n, err := copyBuffered(&out, r, size, nil)
			if err != nil || n != int64(len(data)) {
				t.Fatalf("copyBuffered = %d, %v; want %d, nil", n, err, len(data))
			}
			if sha256.Sum256(out.Bytes()) != sha256.Sum256(data) {
				t.Error("copied data differs (sha256)")
			}
			if r.largest != size {
				t.Errorf("largest read buffer = %d, want %d", r.largest, size)
			}
		})
	}
}

// recordingReader records the largest buffer it was asked to fill.
type recordingReader struct {
	r       io.Reader
	largest int
}

func (r *recordingReader) Read(p []byte) (int, error) {
	r.largest = max(r.largest, len(p))
	return r.r.Read(p)
}

// TestCopyPipePortableDeclines checks that the portable copy leaves regular
// files (sendfile), in-memory readers and datagram sockets to io.Copy.
func TestCopyPipePortableDeclines(t *testing.T) {
	portableCopy = true
	t.Cleanup(func() { portableCopy = false })
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tcp, _ := streamPair(t, "tcp")
	if _, handled, _ := copyPipeBuffer(tcp, f, 0, nil); handled {
		t.Error("regular file: handled, want io.Copy")
	}
	if _, handled, _ := copyPipeBuffer(tcp, bytes.NewReader(nil), 0, nil); handled {
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
	if _, handled, _ := copyPipeBuffer(udp, pr, 0, nil); handled {
		t.Error("UDP: handled, want io.Copy")
	}
}

// TestCopyPipePortableResetPeer checks that a peer that goes away
// mid-transfer is an error with the count of bytes sent, on the portable
// copy too.
func TestCopyPipePortableResetPeer(t *testing.T) {
	portableCopy = true
	t.Cleanup(func() { portableCopy = false })
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go feedForever(pw)
	defer pw.Close()
	client, server := streamPair(t, "tcp")
	server.(*net.TCPConn).SetLinger(0)
	go readThenReset(server)
	n, handled, err := copyPipeBuffer(client, pr, 0, nil)
	if !handled || err == nil {
		t.Fatalf("copyPipeBuffer = %d, %v, %v; want handled with an error", n, handled, err)
	}
	if n < 1<<20 {
		t.Errorf("sent %d bytes, want at least the 1 MiB the peer read", n)
	}
}

// feedForever writes to w until a write fails.
func feedForever(w io.Writer) {
	chunk := make([]byte, 64<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// readThenReset reads 1 MiB and closes c with unread data and linger 0,
// which sends a reset.
func readThenReset(c net.Conn) {
	io.CopyN(io.Discard, c, 1<<20)
	c.Close()
}
