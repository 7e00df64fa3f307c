package modes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Unix-domain sockets (-U PATH, SPEC §1): a stream socket by default, a
// datagram socket with -u; connect or listen. A PATH starting with '@' names
// a Linux abstract socket, which has no file.
//
// A listener never replaces a path that is not a socket, nor a socket some
// process still listens on; it removes a stale socket (one nobody listens
// on, left by a process that died) and removes its own socket file when it
// closes. A datagram client binds a temporary path of its own so the server
// can answer it, and removes that path when it closes.

// staleProbeTimeout bounds the connect that tells a live socket from a stale
// one before a listener takes over its path.
const staleProbeTimeout = time.Second

// ConnectUnix connects to the Unix stream socket at PATH and pumps stdio
// through it (or runs -e/-c with it).
func ConnectUnix(ctx context.Context, cfg *Config, stdio Stdio) error {
	d := &net.Dialer{Timeout: cfg.Net.Timeout}
	conn, err := dialRetry(ctx, cfg, stdio, func(ctx context.Context) (net.Conn, error) {
		c, err := d.DialContext(ctx, "unix", cfg.Host)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, describe("connect", cfg.Host, err)
		}
		return c, nil
	})
	if err != nil {
		return err
	}
	logf(cfg, stdio, "connected to %s", cfg.Host)
	if cfg.TLS.Enabled {
		conn, err = tlsClient(ctx, cfg, stdio, conn)
		if err != nil {
			return err
		}
	}
	return serveConn(ctx, cfg, conn, stdio)
}

// unixListenConfig carries --sndbuf/--rcvbuf to Unix sockets.
func unixListenConfig(cfg *Config) *net.ListenConfig {
	return &net.ListenConfig{Control: control(cfg)}
}

// listenUnix opens a Unix stream listener at PATH. Closing it removes the
// socket file (net.UnixListener does so for sockets it created).
func listenUnix(ctx context.Context, cfg *Config) (net.Listener, error) {
	if err := clearStale(cfg.Host); err != nil {
		return nil, err
	}
	ln, err := unixListenConfig(cfg).Listen(ctx, "unix", cfg.Host)
	if err != nil {
		return nil, describe("listen on", cfg.Host, err)
	}
	return ln, nil
}

// dialUnixgram connects a datagram socket to PATH. It binds a temporary path
// first, so that the server has an address to answer; Close removes it.
func dialUnixgram(ctx context.Context, cfg *Config) (net.Conn, error) {
	local, err := tempSocketPath()
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{
		Timeout:   cfg.Net.Timeout,
		LocalAddr: &net.UnixAddr{Name: local, Net: "unixgram"},
		Control:   control(cfg),
	}
	c, err := d.DialContext(ctx, "unixgram", cfg.Host)
	if err != nil {
		os.Remove(local) // bound before the connect failed
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, describe("connect", cfg.Host, err)
	}
	return &ownedUnixgram{UnixConn: c.(*net.UnixConn), path: local}, nil
}

// listenUnixgram binds a datagram socket at PATH; Close removes the file.
func listenUnixgram(ctx context.Context, cfg *Config) (net.Conn, error) {
	if err := clearStale(cfg.Host); err != nil {
		return nil, err
	}
	pc, err := unixListenConfig(cfg).ListenPacket(ctx, "unixgram", cfg.Host)
	if err != nil {
		return nil, describe("listen on", cfg.Host, err)
	}
	c := pc.(*net.UnixConn)
	if isAbstract(cfg.Host) {
		return c, nil
	}
	return &ownedUnixgram{UnixConn: c, path: cfg.Host}, nil
}

// ownedUnixgram is a datagram socket bound to a path this process created;
// Close also removes the path.
type ownedUnixgram struct {
	*net.UnixConn
	path string
}

func (c *ownedUnixgram) Close() error {
	err := c.UnixConn.Close()
	if rerr := os.Remove(c.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// tempSocketPath names a fresh path for a client's own datagram socket, in
// $TMPDIR (the sun_path limit of 108 bytes allows little else).
func tempSocketPath() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("sockcat-%d-%s.sock", os.Getpid(), hex.EncodeToString(b[:]))), nil
}

func isAbstract(path string) bool { return strings.HasPrefix(path, "@") }

// clearStale prepares PATH for a listener: nothing there is fine; a socket
// nobody listens on (connect is refused) is removed; anything else — a
// regular file, a directory, a socket in use — is an error and stays.
func clearStale(path string) error {
	if isAbstract(path) {
		return nil // no file; bind reports EADDRINUSE itself
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return describe("listen on", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("listen on %s: exists and is not a socket; refusing to replace it", path)
	}
	// A stream connect tells them apart: a stale socket of either type
	// refuses it; a live stream socket accepts it; a live datagram socket
	// answers EPROTOTYPE; a full backlog answers EAGAIN.
	c, err := net.DialTimeout("unix", path, staleProbeTimeout)
	switch {
	case err == nil:
		c.Close()
		return fmt.Errorf("listen on %s: %w (another process is listening on it)", path, syscall.EADDRINUSE)
	case errors.Is(err, syscall.ECONNREFUSED):
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return describe("remove stale socket", path, err)
		}
		return nil
	case errors.Is(err, syscall.EPROTOTYPE), errors.Is(err, syscall.EAGAIN):
		return fmt.Errorf("listen on %s: %w (another process is using it)", path, syscall.EADDRINUSE)
	}
	return describe("listen on", path, err)
}
