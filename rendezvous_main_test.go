package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockcat/sockcat/modes/p2p/rendezvous"
)

// TestRunRendezvousExitStatus: usage errors exit 2, a port in use exits 1,
// each with one stderr line.
func TestRunRendezvousExitStatus(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, busyPort, _ := net.SplitHostPort(busy.Addr().String())
	tests := []struct {
		args string
		code int
		want string
	}{
		{"rendezvous", exitUsage, "rendezvous wants [HOST] PORT"},
		{"rendezvous 1 2 3", exitUsage, "rendezvous wants [HOST] PORT"},
		{"rendezvous 127.0.0.1 -5", exitUsage, ""},
		{"rendezvous 65536", exitUsage, `bad port "65536"`},
		{"rendezvous 127.0.0.1 " + busyPort, exitFailure, "rendezvous: listen on 127.0.0.1:" + busyPort},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"sockcat"}, strings.Fields(tt.args)...), strings.NewReader(""), &stdout, &stderr)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.args, code, tt.code, stderr.String())
		}
		if n := strings.Count(stderr.String(), "\n"); n != 1 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%s: stderr %q, want one line containing %q", tt.args, stderr.String(), tt.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s: stdout %q", tt.args, stdout.String())
		}
	}
}

// TestRunRendezvousServesAndInterrupts starts the server through run(),
// meets two clients on it, and stops it with SIGINT: exit 130.
func TestRunRendezvousServesAndInterrupts(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "addr")
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go runInto([]string{"sockcat", "rendezvous", "-v", "--addr-file", addrFile, "127.0.0.1", "0"}, &stdout, &stderr, done)
	var addr string
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		b, _ := os.ReadFile(addrFile)
		addr = strings.TrimSpace(string(b))
		if time.Now().After(deadline) {
			t.Fatal("no --addr-file")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := []string{"sockcat://" + addr}
	a, err := rendezvous.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := rendezvous.Open(ctx, url, a.Nameplate())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Send(ctx, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(ctx); err != nil || string(m) != "hello" {
		t.Fatalf("got %q, %v", m, err)
	}
	interruptSelf(t, syscall.SIGINT)
	select {
	case code := <-done:
		if code != exitInterrupted {
			t.Errorf("exit %d after SIGINT, want %d", code, exitInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("rendezvous did not stop on SIGINT")
	}
	if !strings.Contains(stderr.String(), "claimed nameplate "+a.Nameplate()) {
		t.Errorf("-v log:\n%s", stderr.String())
	}
}

func runInto(args []string, stdout, stderr *bytes.Buffer, done chan<- int) {
	done <- run(args, strings.NewReader(""), stdout, stderr)
}
