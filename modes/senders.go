package modes

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// A UDP listener with -e/-c or --forward serves each sender (address and
// port) as a connection of its own (SPEC §4, §13): packetListener demuxes
// the datagrams of one socket into senderConns, which the engine accepts,
// filters, admits and serves like stream clients. A sender's session ends
// when its endpoint ends (the child's EOF, a reset target) or after idle
// without a datagram from it; its next datagram then starts a new session.
//
// Memory is bounded: at most max senders are remembered (the -m cap, whose
// extra senders the engine refuses at once), each with at most
// senderQueue datagrams waiting; datagrams beyond that are dropped, as the
// network would.

// senderQueue is how many datagrams may wait for one sender's session.
const senderQueue = 64

// packetListener is a net.Listener over one datagram socket.
type packetListener struct {
	pc   *net.UDPConn
	idle time.Duration // a sender silent this long reads EOF
	max  int           // senders remembered at once
	size int           // read buffer (-B)

	accept chan *senderConn
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup // readLoop

	mu      sync.Mutex // guards senders
	senders map[netip.AddrPort]*senderConn
}

func newPacketListener(pc *net.UDPConn, idle time.Duration, max, size int) *packetListener {
	l := &packetListener{
		pc: pc, idle: idle, max: max, size: size,
		accept:  make(chan *senderConn, 16),
		done:    make(chan struct{}),
		senders: map[netip.AddrPort]*senderConn{},
	}
	l.wg.Add(1)
	go l.readLoop()
	return l
}

// Accept returns the next new sender.
func (l *packetListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting new senders; the sessions already accepted still
// get their datagrams until stop.
func (l *packetListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// stop closes the listener and waits for its reader; the socket is the
// caller's.
func (l *packetListener) stop() {
	l.Close()
	l.pc.SetReadDeadline(ioutil.ALongTimeAgo)
	l.wg.Wait()
}

// Addr is the socket's address.
func (l *packetListener) Addr() net.Addr { return l.pc.LocalAddr() }

// readLoop hands each datagram to its sender's session, starting one for a
// new sender.
func (l *packetListener) readLoop() {
	defer l.wg.Done()
	buf := make([]byte, l.size)
	for {
		n, ap, err := l.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return // stop
			}
			continue // ICMP errors from earlier replies, and the like
		}
		ap = unmapAP(ap)
		if c := l.sender(ap); c != nil {
			c.deliver(append([]byte(nil), buf[:n]...))
		}
	}
}

// sender returns the session of ap, starting one if there is room; nil
// when the datagram is to be dropped.
func (l *packetListener) sender(ap netip.AddrPort) *senderConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.senders[ap]; ok {
		return c
	}
	select {
	case <-l.done:
		return nil // not accepting
	default:
	}
	if len(l.senders) >= l.max+cap(l.accept) {
		return nil // full even of senders waiting to be refused: drop
	}
	c := &senderConn{l: l, ap: ap, q: make(chan []byte, senderQueue), wake: make(chan struct{}, 1), closed: make(chan struct{})}
	c.touch()
	select {
	case l.accept <- c:
	default:
		return nil // the engine is behind: drop
	}
	l.senders[ap] = c
	return c
}

func (l *packetListener) forget(c *senderConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.senders[c.ap] == c {
		delete(l.senders, c.ap)
	}
}

// senderConn is one sender of a packetListener as a connection: Read
// returns its datagrams one at a time, Write sends a datagram to it.
type senderConn struct {
	l  *packetListener
	ap netip.AddrPort
	q  chan []byte

	wake   chan struct{} // a deadline changed
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex // guards following
	deadline time.Time  // read deadline
	last     time.Time  // last datagram from the sender
}

func (c *senderConn) touch() {
	c.mu.Lock()
	c.last = time.Now()
	c.mu.Unlock()
}

// deliver queues a datagram for the session, dropping it when the queue is
// full.
func (c *senderConn) deliver(b []byte) {
	select {
	case c.q <- b:
		c.touch()
	default:
	}
}

// Read returns the next datagram (cut to len(p)); io.EOF once the sender
// has been silent for the listener's idle time.
func (c *senderConn) Read(p []byte) (int, error) {
	for {
		select {
		case b := <-c.q:
			return copy(p, b), nil
		default:
		}
		c.mu.Lock()
		deadline, idleAt := c.deadline, c.last.Add(c.l.idle)
		c.mu.Unlock()
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			return 0, errTimeoutOp
		}
		if !now.Before(idleAt) {
			return 0, io.EOF
		}
		wait := idleAt.Sub(now)
		if !deadline.IsZero() {
			wait = min(wait, deadline.Sub(now))
		}
		t := time.NewTimer(wait)
		select {
		case b := <-c.q:
			t.Stop()
			return copy(p, b), nil
		case <-c.closed:
			t.Stop()
			return 0, net.ErrClosed
		case <-c.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// errTimeoutOp is a read past the deadline, as package net reports it.
var errTimeoutOp = &net.OpError{Op: "read", Net: "udp", Err: errTimeout}

// Write sends p to the sender as one datagram.
func (c *senderConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	return c.l.pc.WriteToUDPAddrPort(p, c.ap)
}

// Close ends the session: the sender's next datagram starts a new one.
func (c *senderConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.l.forget(c)
	})
	return nil
}

func (c *senderConn) LocalAddr() net.Addr  { return c.l.pc.LocalAddr() }
func (c *senderConn) RemoteAddr() net.Addr { return net.UDPAddrFromAddrPort(c.ap) }

func (c *senderConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }

func (c *senderConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// SetWriteDeadline does nothing: a datagram write does not wait.
func (c *senderConn) SetWriteDeadline(time.Time) error { return nil }

// serveSenders runs a UDP listener whose senders each get a session: a
// child (-e/-c) or a relay (--forward).
func serveSenders(ctx context.Context, cfg *Config, stdio Stdio, pc *net.UDPConn, f *filter) error {
	session, done, err := oneEndpoint(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	defer done()
	if err := announce(cfg, stdio, pc.LocalAddr()); err != nil {
		return err
	}
	idle := cfg.Stream.IdleTimeout
	if idle <= 0 {
		idle = defaultForwardIdle
	}
	ln := newPacketListener(pc, idle, maxConns(cfg), cfg.Net.Buffer())
	defer ln.stop()
	e := newCore(cfg, stdio, ln, f, session)
	if !cfg.Serve.KeepOpen {
		return e.serveOne(ctx) // the first sender's session, and its status
	}
	if err := e.serve(ctx); err != nil {
		return err
	}
	return ctx.Err()
}
