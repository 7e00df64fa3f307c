package modes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/sockcat/sockcat/ioutil"
)

// listenStreams accepts stream connections (TCP, or Unix with -U) and serves them
// through the engine: one connection and exit with its status, or many
// concurrently with -k. The endpoint of each session is stdio, a child
// (-e/-c), the broker (--broker/--chat) or a target (--forward).
func listenStreams(ctx context.Context, cfg *Config, stdio Stdio) error {
	ln, f, err := openListener(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	defer ln.Close()
	defer mapPort(ctx, cfg, stdio, ln.Addr())() // --map-port: deleted on every way out
	switch {
	case cfg.Serve.Broker || cfg.Serve.Chat:
		return serveBroker(ctx, cfg, stdio, ln, f)
	case cfg.Serve.KeepOpen && !childOrForward(cfg):
		return serveKeepOpen(ctx, cfg, ln, f, stdio)
	}
	session, done, err := oneEndpoint(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	defer done()
	if err := announce(cfg, stdio, ln.Addr()); err != nil {
		return err
	}
	e := newCore(cfg, stdio, ln, f, session)
	if !cfg.Serve.KeepOpen {
		return e.serveOne(ctx)
	}
	if err := e.serve(ctx); err != nil {
		return err
	}
	return ctx.Err()
}

// childOrForward reports whether each session gets its own endpoint (a
// child or a target) rather than a share of stdio.
func childOrForward(cfg *Config) bool {
	return cfg.Serve.Exec != "" || cfg.Serve.ShExec != "" || cfg.Forward != ""
}

// oneEndpoint is the session of a listener whose sessions do not share
// stdio: a child, a target, or (without -k) stdio itself, whose views are
// opened here, before the listener is announced. done releases what it
// opened.
func oneEndpoint(ctx context.Context, cfg *Config, stdio Stdio) (sessionFunc, func(), error) {
	switch {
	case cfg.Serve.Exec != "" || cfg.Serve.ShExec != "":
		return func(ctx context.Context, conn net.Conn) (ioutil.Stats, error) {
			return execConn(ctx, cfg, conn, stdio)
		}, func() {}, nil
	case cfg.Forward != "":
		return forwardSession(cfg, stdio)
	}
	v, err := openViews(ctx, cfg, stdio)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	closeViews := func() error {
		var err error
		once.Do(func() { err = v.Close() })
		return err
	}
	return func(ctx context.Context, conn net.Conn) (ioutil.Stats, error) {
		return pumpStdio(ctx, cfg, conn, stdio, v, closeViews)
	}, func() { closeViews() }, nil
}

// openListener binds the listener, wraps it for --tls and resolves the
// --allow/--deny rules: everything that can fail before a client may come
// (the caller announces the listener once its endpoint is ready too).
func openListener(ctx context.Context, cfg *Config, stdio Stdio) (net.Listener, *filter, error) {
	ln, err := listenStream(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if cfg.TLS.Enabled { // the fingerprint line precedes --addr-file
		tl, err := tlsListener(cfg, stdio, ln)
		if err != nil {
			ln.Close()
			return nil, nil, err
		}
		ln = tl
	}
	f, err := newFilter(ctx, cfg)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	return ln, f, nil
}

// listenAddr is the local address to bind: HOST (resolved, first address)
// or the wildcard of the family.
func listenAddr(ctx context.Context, cfg *Config, base string) (nw, addr string, err error) {
	port := strconv.Itoa(cfg.Port)
	if cfg.Host == "" {
		switch cfg.Net.Family {
		case Family4:
			return base + "4", net.JoinHostPort("0.0.0.0", port), nil
		case Family6:
			return base + "6", net.JoinHostPort("::", port), nil
		}
		return base, ":" + port, nil // one dual-stack socket on [::], or 0.0.0.0 without IPv6
	}
	addrs, err := lookup(ctx, cfg, cfg.Host)
	if err != nil {
		return "", "", describe("listen on", net.JoinHostPort(cfg.Host, port), err)
	}
	a := addrs[0]
	nw = base + "4"
	if a.Is6() {
		nw = base + "6"
	}
	return nw, netip.AddrPortFrom(a, uint16(cfg.Port)).String(), nil
}

// listenConfig carries the socket options to listeners.
func listenConfig(cfg *Config) *net.ListenConfig {
	lc := &net.ListenConfig{Control: control(cfg), KeepAlive: -1}
	if cfg.Net.Keepalive {
		lc.KeepAlive = 0
	}
	return lc
}

// listenStream opens the TCP or Unix stream listener.
func listenStream(ctx context.Context, cfg *Config) (net.Listener, error) {
	if cfg.Unix {
		return listenUnix(ctx, cfg)
	}
	nw, addr, err := listenAddr(ctx, cfg, "tcp")
	if err != nil {
		return nil, err
	}
	ln, err := listenConfig(cfg).Listen(ctx, nw, addr)
	if err != nil {
		return nil, describe("listen on", addr, err)
	}
	return ln, nil
}

// announce logs the bound address with -v and writes it to --addr-file.
func announce(cfg *Config, stdio Stdio, a net.Addr) error {
	s := addrString(a)
	logf(cfg, stdio, "listening on %s", s)
	if cfg.AddrFile == "" {
		return nil
	}
	return WriteFileAtomic(cfg.AddrFile, s+"\n")
}

// WriteFileAtomic writes data to a temporary file beside name and renames
// it, so a reader polling for name never sees a partial address (--addr-file,
// --map-file, --code-file, and the rendezvous command's --addr-file).
func WriteFileAtomic(name, data string) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".addr-*")
	if err != nil {
		return fmt.Errorf("addr file: %w", err)
	}
	_, werr := f.WriteString(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("addr file: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("addr file: %w", err)
	}
	return nil
}
