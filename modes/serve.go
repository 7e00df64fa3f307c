package modes

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// The serving engine (SPEC §5): every listener, stream or datagram, hands
// its connections to one engine that runs
//
//	accept → filter → handshake (TLS, bounded) → admit (-m) → session → release
//
// so admission, refusal (a reset), the join and leave lines and the release
// of the slot and the socket exist in one place. A session connects the
// connection to one endpoint: stdio (one-shot, or the -k hub), a child
// (-e/-c), the broker hub (--broker/--chat) or a target (--forward). For a
// UDP listener with -e/-c or --forward a "connection" is one sender (see
// packetListener).
//
// A session ends, and its slot, socket and goroutines are released, when its
// endpoint returns; every endpoint returns at the client's EOF or reset
// (SPEC §5), so a long-running listener serves its 10,000th client with the
// same number of descriptors as its first.

// sessionFunc runs one admitted client to its end and reports what it moved.
// The engine closes conn after it returns and ends its I/O (with a deadline)
// when ctx is cancelled.
type sessionFunc func(ctx context.Context, conn net.Conn) (ioutil.Stats, error)

// errDropped ends a session that its endpoint dropped (a broker client that
// stopped reading); the endpoint has logged why.
var errDropped = errors.New("dropped")

// acceptBackoffMax bounds the pause after an accept error such as EMFILE,
// as net/http does, so a full file table does not spin the CPU.
const acceptBackoffMax = time.Second

// engine serves the clients of one listener.
type core struct {
	cfg     *Config
	stdio   Stdio
	ln      net.Listener
	filter  *filter
	session sessionFunc
	max     int // -m: concurrent sessions

	mu      sync.Mutex // guards following
	active  int
	pending []net.Conn // TLS handshakes under way, oldest first

	wg sync.WaitGroup // one goroutine per accepted connection
}

func newCore(cfg *Config, stdio Stdio, ln net.Listener, f *filter, session sessionFunc) *core {
	return &core{cfg: cfg, stdio: stdio, ln: ln, filter: f, session: session, max: maxConns(cfg)}
}

// maxConns is the effective -m.
func maxConns(cfg *Config) int {
	if cfg.Serve.MaxConns > 0 {
		return cfg.Serve.MaxConns
	}
	return DefaultMaxConns
}

// serve accepts clients concurrently (-k) until ctx ends or the listener
// fails; it closes the listener and returns once every session has ended.
func (e *core) serve(ctx context.Context) error {
	err := e.acceptLoop(ctx, func(c net.Conn) {
		e.wg.Add(1)
		go e.serveClient(ctx, c)
	})
	e.ln.Close()
	e.wg.Wait()
	return err
}

// serveOne serves the first client that passes the filter and its handshake,
// and returns that session's status (a listener without -k). Refused clients
// do not use up the one connection.
func (e *core) serveOne(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		chosen net.Conn
		herr   error // the chosen client's failed handshake: the one-shot's status
	)
	err := e.acceptLoop(ctx, func(c net.Conn) {
		herr = e.handshake(ctx, c)
		if herr == nil {
			chosen = c
		}
		cancel() // stop accepting: one client only
	})
	e.ln.Close()
	switch {
	case herr != nil:
		return herr
	case err != nil:
		return err
	case chosen == nil:
		return ctx.Err()
	}
	defer chosen.Close()
	logf(e.cfg, e.stdio, "connection from %s", peerName(chosen))
	_, err = e.session(parent, chosen)
	return err
}

// acceptLoop accepts until ctx ends or the listener fails, resets the
// clients the filter refuses and hands the others to use, which owns them.
// Temporary errors (a full file table) are logged and retried after a pause.
func (e *core) acceptLoop(ctx context.Context, use func(net.Conn)) error {
	stop := context.AfterFunc(ctx, func() { e.ln.Close() })
	defer stop()
	var backoff time.Duration
	for ctx.Err() == nil {
		c, err := e.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if !temporaryAccept(err) {
				return describe("accept on", addrString(e.ln.Addr()), err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), acceptBackoffMax)
			warnf(e.stdio, "accept on %s: %v; retrying in %v", addrString(e.ln.Addr()), reason(err), backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		if !e.filter.allowed(c.RemoteAddr()) {
			logf(e.cfg, e.stdio, "refused connection from %s", peerName(c))
			refuse(c)
			continue
		}
		tuneTCP(e.cfg, c)
		use(c)
	}
	return nil
}

func temporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EINTR)
}

// serveClient takes one accepted client through handshake, admission and
// its session, then releases it.
func (e *core) serveClient(ctx context.Context, c net.Conn) {
	defer e.wg.Done()
	if err := e.handshake(ctx, c); err != nil {
		if ctx.Err() == nil {
			logf(e.cfg, e.stdio, "%v", err)
		}
		return
	}
	n, ok := e.admit()
	if !ok {
		logf(e.cfg, e.stdio, "refused connection from %s: %d clients connected (-m %d)", peerName(c), n, e.max)
		refuse(c)
		return
	}
	name := peerName(c)
	logf(e.cfg, e.stdio, "connection from %s (%d connected)", name, n)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(ioutil.ALongTimeAgo) })
	st, err := e.session(ctx, c)
	stop()
	c.Close()
	e.leave(name, st, err, e.release())
}

// admit takes a session slot under -m.
func (e *core) admit() (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.active >= e.max {
		return e.active, false
	}
	e.active++
	return e.active, true
}

// release frees a session slot and says how many remain.
func (e *core) release() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.active--
	return e.active
}

// leave logs the end of a session: the one place a leave line is written.
func (e *core) leave(name string, st ioutil.Stats, err error, n int) {
	switch {
	case errors.Is(err, errDropped):
		logf(e.cfg, e.stdio, "%s dropped (%d connected)", name, n)
	case errors.Is(err, ioutil.ErrIdle):
		logf(e.cfg, e.stdio, "%s: idle timeout; closed (%d connected)", name, n)
	case err != nil && !quietEnd(err):
		var oe *net.OpError
		if errors.As(err, &oe) { // a bare socket error: its errno says it all
			err = reason(err)
		}
		logf(e.cfg, e.stdio, "%s: %v (%d connected)", name, err, n)
	default:
		logf(e.cfg, e.stdio, "%s disconnected: sent %s, received %s (%d connected)",
			name, ioutil.FormatSize(st.Sent), ioutil.FormatSize(st.Received), n)
	}
}

// quietEnd reports errors that are an ordinary end of a session: the
// server stopped it, or stdout went away.
func quietEnd(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errStdoutGone)
}

// handshake completes a --tls client's handshake within the handshake
// timeout. Handshakes under way are bounded by -m, apart from the sessions:
// when that many are pending the oldest is reset, so clients that stall in
// the handshake cannot lock out the ones that complete it, nor take the
// slots of admitted clients.
func (e *core) handshake(ctx context.Context, c net.Conn) error {
	if _, ok := c.(*tlsConn); !ok {
		return nil
	}
	e.mu.Lock()
	if len(e.pending) >= e.max {
		refuse(e.pending[0]) // its handshake fails at once
		e.pending = e.pending[1:]
	}
	e.pending = append(e.pending, c)
	e.mu.Unlock()
	err := tlsHandshake(ctx, c)
	e.mu.Lock()
	for i, p := range e.pending {
		if p == c {
			e.pending = append(e.pending[:i], e.pending[i+1:]...)
			break
		}
	}
	e.mu.Unlock()
	if err != nil {
		c.Close()
	}
	return err
}

// refuse resets a client (SO_LINGER 0, then close), so that it can tell
// refusal from an ordinary end (SPEC §5).
func refuse(c net.Conn) {
	raw := c
	if tc, ok := c.(*tlsConn); ok {
		raw = tc.raw
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	raw.Close()
}
