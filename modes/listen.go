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
)

// Listen accepts stream connections (TCP, or Unix with -U) and serves them:
// one connection and exit with its status, or many concurrently with -k.
func Listen(ctx context.Context, cfg *Config, stdio Stdio) error {
	ln, err := listenStream(ctx, cfg)
	if err != nil {
		return err
	}
	defer ln.Close()
	if cfg.TLS.Enabled { // before announce: the fingerprint line precedes --addr-file
		ln, err = tlsListener(cfg, stdio, ln)
		if err != nil {
			return err
		}
	}
	if err := announce(cfg, stdio, ln.Addr()); err != nil {
		return err
	}
	defer mapPort(ctx, cfg, stdio, ln.Addr())() // --map-port: deleted on every way out
	filter, err := newFilter(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.Serve.KeepOpen {
		return serveKeepOpen(ctx, cfg, ln, filter, stdio)
	}
	conn, err := acceptOne(ctx, cfg, ln, filter, stdio)
	if err != nil {
		return err
	}
	ln.Close() // one-shot: stop accepting before the transfer
	return serveConn(ctx, cfg, conn, stdio)
}

// acceptOne accepts until a client passes the filter. Refused clients are
// closed at once and do not use up the one connection.
func acceptOne(ctx context.Context, cfg *Config, ln net.Listener, filter *filter, stdio Stdio) (net.Conn, error) {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, describe("accept on", addrString(ln.Addr()), err)
		}
		if !filter.allowed(c.RemoteAddr()) {
			logf(cfg, stdio, "refused connection from %s", peerName(c))
			c.Close()
			continue
		}
		logf(cfg, stdio, "connection from %s", peerName(c))
		tuneTCP(cfg, c)
		return c, nil
	}
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
	return writeFileAtomic(cfg.AddrFile, s+"\n")
}

// writeFileAtomic writes data to a temporary file beside name and renames
// it, so a reader polling for name never sees a partial address.
func writeFileAtomic(name, data string) error {
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
