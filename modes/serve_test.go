package modes

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers shared by the tests of the listen-side modes (-k, --broker, -e,
// --allow, -U).

// srvBuffer is a goroutine-safe buffer that a test can wait on.
type srvBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *srvBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *srvBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer contains sub.
func (s *srvBuffer) waitFor(t *testing.T, sub string) {
	t.Helper()
	deadline := time.Now().Add(srvWait)
	for !strings.Contains(s.String(), sub) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q after %v; have:\n%s", sub, srvWait, s.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// chunkRecorder keeps every Write as its own chunk, to check that one
// client's read is never cut by another's.
type chunkRecorder struct {
	mu     sync.Mutex
	chunks [][]byte
	total  int
}

func (r *chunkRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.chunks = append(r.chunks, append([]byte(nil), p...))
	r.total += len(p)
	return len(p), nil
}

func (r *chunkRecorder) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// srvWait bounds every wait of these tests.
const srvWait = 30 * time.Second

// server is a mode running in the background.
type server struct {
	addr   string
	done   chan error
	cancel context.CancelFunc
}

// startServer runs the mode cfg asks for (cfg.Listen is set) in the
// background, waits for its address, and stops it at the end of the test.
// With no Host and no -U it listens on 127.0.0.1.
func startServer(t *testing.T, cfg *Config, stdio Stdio) *server {
	t.Helper()
	cfg.Listen = true
	cfg.AddrFile = filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{done: make(chan error, 1), cancel: cancel}
	finished := make(chan struct{})
	go func() {
		s.done <- Run(ctx, cfg, stdio)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-finished:
		case <-time.After(srvWait):
			t.Error("server did not stop")
		}
	})
	deadline := time.Now().Add(srvWait)
	for {
		b, err := os.ReadFile(cfg.AddrFile)
		if err == nil && len(b) > 0 {
			s.addr = strings.TrimSpace(string(b))
			return s
		}
		select {
		case err := <-s.done:
			t.Fatalf("server ended before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not write its address")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// result waits for the mode to return.
func (s *server) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		return err
	case <-time.After(srvWait):
		t.Fatalf("mode did not return within %v", srvWait)
		return nil
	}
}

// stop interrupts the mode and returns its result.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	return s.result(t)
}

// port returns the port of the server's address.
func (s *server) port(t *testing.T) string {
	t.Helper()
	_, p, err := net.SplitHostPort(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dial connects to the server on host (its port), and closes at cleanup.
func dial(t *testing.T, nw, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(nw, addr, srvWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listenCfg is a listener configuration with the defaults main would set.
func listenCfg() *Config {
	return &Config{
		Listen: true,
		Host:   "127.0.0.1",
		Stream: StreamOptions{QuitAfter: -1},
		Serve:  ServeOptions{MaxConns: DefaultMaxConns},
	}
}
