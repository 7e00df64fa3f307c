package modes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// pumpOptions maps the stream flags onto the pump.
func pumpOptions(cfg *Config) ioutil.PumpOptions {
	return ioutil.PumpOptions{
		NoShutdown:    cfg.Stream.NoShutdown,
		SendOnly:      cfg.Stream.SendOnly,
		RecvOnly:      cfg.Stream.RecvOnly,
		QuitAfter:     cfg.Stream.QuitAfter,
		StopOnPeerEOF: cfg.StdinTTY,
		IdleTimeout:   cfg.Stream.IdleTimeout,
		BufferSize:    cfg.Net.Buffer(),
	}
}

// serveConn runs one connected stream (connect mode): the program of
// -e/-c, the relay to the --forward target, or the pump between stdio
// (through the views) and conn. It owns conn and closes it.
func serveConn(ctx context.Context, cfg *Config, conn net.Conn, stdio Stdio) error {
	defer conn.Close()
	if err := tlsHandshake(ctx, conn); err != nil { // --tls listener: handshake here, per connection
		return err
	}
	switch {
	case cfg.Serve.Exec != "" || cfg.Serve.ShExec != "":
		_, err := execConn(ctx, cfg, conn, stdio)
		return err
	case cfg.Forward != "":
		session, done, err := forwardSession(cfg, stdio)
		if err != nil {
			return err
		}
		defer done()
		_, err = session(ctx, conn)
		return err
	}
	v, err := openViews(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	_, err = pumpStdio(ctx, cfg, conn, stdio, v, v.Close)
	return err
}

// pumpStdio is the stdio session of one connection: the pump between the
// views and conn, then the views closed (closeViews) and the report.
func pumpStdio(ctx context.Context, cfg *Config, conn net.Conn, stdio Stdio, v *views, closeViews func() error) (ioutil.Stats, error) {
	start := time.Now()
	opt := pumpOptions(cfg)
	st, err := ioutil.Pump(ctx, conn, v.In, v.Out, opt)
	err = streamError(conn, err)
	if cerr := closeViews(); err == nil {
		err = cerr
	}
	report(cfg, stdio, v, conn, st, time.Since(start), err)
	return st, err
}

// streamError turns a pump error into the user's one line: quiet ends (stdout
// closed by its reader) become nil, the rest name the peer.
func streamError(conn net.Conn, err error) error {
	switch {
	case err == nil, errors.Is(err, ioutil.ErrStdoutClosed):
		return nil
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, ioutil.ErrIdle):
		return fmt.Errorf("%s: %w", peerName(conn), err)
	}
	var ie *ioutil.InputError
	if errors.As(err, &ie) {
		return err // names the input offset and the bytes sent; no peer to blame
	}
	var se *ioutil.SendError
	if errors.As(err, &se) {
		return describe("send to", peerName(conn), err)
	}
	return describe("receive from", peerName(conn), err)
}

// peerName is the remote address as the user should read it.
func peerName(c net.Conn) string {
	if c == nil || c.RemoteAddr() == nil {
		return "peer"
	}
	return addrString(c.RemoteAddr())
}

// addrString prints a socket address with netip's form (IPv4 unmapped).
func addrString(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return unmapAP(a.AddrPort()).String()
	case *net.UDPAddr:
		return unmapAP(a.AddrPort()).String()
	case *net.UnixAddr:
		if a.Name == "" || a.Name == "@" {
			return "unix socket"
		}
		return a.Name
	}
	return a.String()
}
