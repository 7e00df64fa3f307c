package modes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// lockedBuffer is a bytes.Buffer safe for a mode's goroutines and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func baseConfig() *Config {
	return &Config{Stream: StreamOptions{QuitAfter: -1}}
}

// startListen runs Listen in the background on 127.0.0.1:0 and returns the
// bound address and the mode's result.
func startListen(t *testing.T, cfg *Config, stdio Stdio) (string, <-chan error) {
	t.Helper()
	cfg.Listen = true
	cfg.Host = "127.0.0.1"
	cfg.AddrFile = filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		done <- Run(ctx, cfg, stdio)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Error("listener did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(cfg.AddrFile)
		if err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b)), done
		}
		if time.Now().After(deadline) {
			t.Fatal("listener did not write its address")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wait(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("mode did not return within 30s")
		return nil
	}
}

// TestListenEmptyStdinLargeUpload: a listener whose stdin is empty (as
// /dev/null) half-closes at once; a 64 MiB upload must still arrive whole.
func TestListenEmptyStdinLargeUpload(t *testing.T) {
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	addr, done := startListen(t, baseConfig(), Stdio{In: devnull, Out: out, Err: io.Discard})

	payload := make([]byte, 64<<20)
	for i := range payload {
		payload[i] = byte(i*7 + i>>13)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan int64, 1)
	go func() {
		n, _ := io.Copy(io.Discard, c) // the listener's FIN comes first
		got <- n
	}()
	if _, err := c.Write(payload); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	if n := <-got; n != 0 {
		t.Errorf("client received %d bytes, want 0", n)
	}
	c.Close()
	if err := wait(t, done); err != nil {
		t.Fatalf("listener: %v", err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(b) != sha256.Sum256(payload) {
		t.Errorf("listener wrote %d bytes, want %d (sha256 differs)", len(b), len(payload))
	}
}

// TestConnectBothWaysFiles: regular files on both sides (the sendfile and
// splice paths), checked by sha256 in both directions.
func TestConnectBothWaysFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i) ^ seed ^ byte(i>>11)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		return b
	}
	up := write("up", 24<<20+3, 1)
	down := write("down", 16<<20+9, 2)
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	create := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	addr, done := startListen(t, baseConfig(), Stdio{In: open("down"), Out: create("got-up"), Err: io.Discard})
	host, port, _ := net.SplitHostPort(addr)
	cfg := baseConfig()
	cfg.Host = host
	cfg.Port, _ = strconv.Atoi(port)
	if err := Run(context.Background(), cfg, Stdio{In: open("up"), Out: create("got-down"), Err: io.Discard}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := wait(t, done); err != nil {
		t.Fatalf("listen: %v", err)
	}
	for name, want := range map[string][]byte{"got-up": up, "got-down": down} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if sha256.Sum256(b) != sha256.Sum256(want) {
			t.Errorf("%s: %d bytes, want %d (sha256 differs)", name, len(b), len(want))
		}
	}
}

// TestConnectPeerReset: the peer resets mid-transfer; Connect fails with a
// message naming the bytes sent, never success.
func TestConnectPeerReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.CopyN(io.Discard, c, 1<<20)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}()
	cfg := baseConfig()
	cfg.Host = "127.0.0.1"
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	err = Run(context.Background(), cfg, Stdio{In: bytes.NewReader(make([]byte, 64<<20)), Out: io.Discard, Err: io.Discard})
	if err == nil {
		t.Fatal("Connect succeeded although the peer reset with input unsent")
	}
	var se *ioutil.SendError
	if !errors.As(err, &se) || se.Sent <= 0 {
		t.Fatalf("error = %v, want a SendError with bytes sent", err)
	}
	want := "send to 127.0.0.1:" + strconv.Itoa(cfg.Port) + ": "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), " bytes sent; input remains unsent") {
		t.Errorf("error = %q, want %q… N bytes sent; input remains unsent", err, want)
	}
}

// TestConnectTriesEveryAddress: a name resolving to several addresses is
// dialled in order; the last error is reported when all fail.
func TestConnectTriesEveryAddress(t *testing.T) {
	port := refusedPort(t)
	cfg := baseConfig()
	cfg.Host = "localhost" // /etc/hosts: 127.0.0.1 and usually ::1
	cfg.Port = port
	var stderr lockedBuffer
	cfg.Verbose = true
	err := Run(context.Background(), cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: &stderr})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error = %v, want connection refused", err)
	}
	if !strings.Contains(err.Error(), ":"+strconv.Itoa(port)+": connection refused") {
		t.Errorf("error = %q, want the address and reason", err)
	}
}

// TestUDPLinesFromTerminal: with terminal stdin (or --lines) each line is
// one datagram.
func TestUDPLinesFromTerminal(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tty, lines bool
	}{{"tty", true, false}, {"lines", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			got := ackDatagrams(pc, 3)
			cfg := baseConfig()
			cfg.UDP = true
			cfg.Host = "127.0.0.1"
			cfg.Port = pc.LocalAddr().(*net.UDPAddr).Port
			cfg.StdinTTY = tc.tty
			cfg.Stream.Lines = tc.lines
			cfg.Stream.QuitAfter = 300 * time.Millisecond
			var out lockedBuffer
			// One Read delivers all three lines at once: only line mode
			// splits them.
			err = Run(context.Background(), cfg, Stdio{In: strings.NewReader("a\nbb\nccc\n"), Out: &out, Err: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			if dgs := <-got; strings.Join(dgs, "|") != "a\n|bb\n|ccc\n" {
				t.Errorf("datagrams = %q, want one per line", dgs)
			}
			if out.String() != "ack a\nack bb\nack ccc\n" {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
}

// ackDatagrams answers the first n datagrams on pc with "ack " + datagram
// and sends what it received on the returned channel.
func ackDatagrams(pc net.PacketConn, n int) <-chan []string {
	got := make(chan []string, 1)
	go func() {
		var dgs []string
		b := make([]byte, 1024)
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for len(dgs) < n {
			m, from, err := pc.ReadFrom(b)
			if err != nil {
				break
			}
			dgs = append(dgs, string(b[:m]))
			pc.WriteTo([]byte("ack "+string(b[:m])), from)
		}
		got <- dgs
	}()
	return got
}
