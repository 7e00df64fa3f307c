package modes

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func unixCfg(path string) *Config {
	cfg := listenCfg()
	cfg.Host = path
	cfg.Unix = true
	return cfg
}

// TestUnixStreamRoundTrip: -l -U and -U both ways, and the listener removes
// its socket file when it is done.
func TestUnixStreamRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	out := &srvBuffer{}
	srv := startServer(t, unixCfg(path), Stdio{In: strings.NewReader("from server\n"), Out: out, Err: io.Discard})
	if srv.addr != path {
		t.Errorf("announced %q, want %q", srv.addr, path)
	}
	var got bytes.Buffer
	cfg := unixCfg(path)
	cfg.Listen = false
	if err := Run(context.Background(), cfg, Stdio{In: strings.NewReader("from client\n"), Out: &got, Err: io.Discard}); err != nil {
		t.Fatalf("connect -U: %v", err)
	}
	if err := srv.result(t); err != nil {
		t.Fatalf("listen -U: %v", err)
	}
	if got.String() != "from server\n" || out.String() != "from client\n" {
		t.Errorf("client got %q, server got %q", got.String(), out.String())
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}
}

// TestUnixListenPath: what a listener does with what is already at PATH.
func TestUnixListenPath(t *testing.T) {
	dir := t.TempDir()

	t.Run("regular file", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		os.WriteFile(path, []byte("keep me"), 0o600)
		_, err := listenUnix(context.Background(), unixCfg(path))
		if err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Fatalf("listen over a file: %v", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "keep me" {
			t.Errorf("the file was changed: %q", b)
		}
	})

	t.Run("directory", func(t *testing.T) {
		path := filepath.Join(dir, "d")
		os.Mkdir(path, 0o700)
		if _, err := listenUnix(context.Background(), unixCfg(path)); err == nil {
			t.Fatal("listen over a directory succeeded")
		}
	})

	t.Run("stale socket", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close() // the file stays, nobody listens: a crashed server's leftover
		ln2, err := listenUnix(context.Background(), unixCfg(path))
		if err != nil {
			t.Fatalf("stale socket not replaced: %v", err)
		}
		ln2.Close()
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket file left after close: %v", err)
		}
	})

	t.Run("live stream socket", func(t *testing.T) {
		path := filepath.Join(dir, "live.sock")
		ln, err := net.Listen("unix", path)
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
				c.Close()
			}
		}()
		_, err = listenUnix(context.Background(), unixCfg(path))
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("listen over a live socket: %v, want EADDRINUSE", err)
		}
	})

	t.Run("live datagram socket", func(t *testing.T) {
		path := filepath.Join(dir, "liveg.sock")
		c, err := net.ListenPacket("unixgram", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = listenUnixgram(context.Background(), unixCfg(path))
		if !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("listen over a live datagram socket: %v, want EADDRINUSE", err)
		}
	})
}

// TestUnixgramRoundTrip: a datagram client binds a temporary path, gets the
// server's answer on it, and removes it; the server removes its own path.
func TestUnixgramRoundTrip(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path := filepath.Join(tmp, "d.sock")
	out := &srvBuffer{}
	errb := &srvBuffer{}
	inR, inW := io.Pipe()
	defer inW.Close()
	scfg := unixCfg(path)
	scfg.UDP = true
	scfg.Verbose = true
	srv := startServer(t, scfg, Stdio{In: inR, Out: out, Err: errb})

	clientOut := &srvBuffer{}
	ccfg := unixCfg(path)
	ccfg.Listen = false
	ccfg.UDP = true
	ccfg.Stream.QuitAfter = 100 * time.Millisecond // after stdin EOF
	cin, cinW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), ccfg, Stdio{In: cin, Out: clientOut, Err: io.Discard}) }()
	cinW.Write([]byte("ping"))
	out.waitFor(t, "ping")
	errb.waitFor(t, "datagram from new sender "+filepath.Join(tmp, "sockcat-"))
	inW.Write([]byte("pong"))
	clientOut.waitFor(t, "pong")
	cinW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("unixgram client: %v", err)
		}
	case <-time.After(srvWait):
		t.Fatal("client did not end")
	}
	if m, _ := filepath.Glob(filepath.Join(tmp, "sockcat-*.sock")); len(m) != 0 {
		t.Errorf("client left its socket files: %v", m)
	}
	srv.stop(t)
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("server left its socket file: %v", err)
	}
}

// TestUnixChat: --chat works over a Unix stream socket; a client's chat
// name is its number, as it has no address.
func TestUnixChat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.sock")
	cfg := unixCfg(path)
	cfg.Serve.Chat = true
	errb := &srvBuffer{}
	srv := startServer(t, cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: errb})
	a := dial(t, "unix", srv.addr)
	buf := make([]byte, 100)
	n, _ := a.Read(buf)
	if want := "<announce> you are user@unix:1; 1 connected\n"; string(buf[:n]) != want {
		t.Fatalf("got %q, want %q", buf[:n], want)
	}
	b := dial(t, "unix", srv.addr)
	b.Read(buf)
	a.Read(buf) // b joined
	b.Write([]byte("hi\n"))
	a.SetReadDeadline(time.Now().Add(srvWait))
	n, _ = a.Read(buf)
	if want := "<user@unix:2> hi\n"; string(buf[:n]) != want {
		t.Errorf("got %q, want %q", buf[:n], want)
	}
}
