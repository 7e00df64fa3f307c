package modes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// Keep-open (-k, SPEC §5): clients are served concurrently. Every client's
// bytes go to stdout, one Write per read under a lock, so one client's read
// is never cut by another's. stdin is read only once a first client is
// connected, and each chunk goes to every client connected at that moment, at
// the pace of the slowest (a client that stops reading holds stdin back; use
// --broker to drop such clients instead). At stdin EOF every client gets FIN
// once its share is written; clients arriving later get FIN at once and are
// still heard. -m caps the clients connected at once; extra ones are closed
// on arrival.
//
// The views (encodings, -x, -o, …) are opened once for the aggregate stdio,
// never per client.
//
// The server runs until interrupted (exit 130), until stdout is closed by its
// reader (exit 0), or -q DUR after stdin EOF (exit 0).

// keepOpenQueue is how many stdin chunks may wait for one client before the
// stdin reader waits for it.
const keepOpenQueue = 8

// serveKeepOpen serves clients concurrently under -k (SPEC §5), each session
// a share of stdio through the hub.
func serveKeepOpen(ctx context.Context, cfg *Config, ln net.Listener, f *filter, stdio Stdio) error {
	v, err := openViews(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	if err := announce(cfg, stdio, ln.Addr()); err != nil {
		v.Close()
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	h := &hub{
		cfg:       cfg,
		stdio:     stdio,
		out:       v.Out,
		end:       cancel,
		clients:   map[*kclient]struct{}{},
		first:     make(chan struct{}),
		inputDone: make(chan struct{}),
		pool:      newBufPool(cfg.Net.Buffer()),
	}
	start := time.Now()
	if cfg.Stream.RecvOnly {
		h.inputEOF()
	} else {
		// Not joined: a read from a terminal or an idle pipe cannot be
		// interrupted; it ends with the process (as in ioutil.Pump).
		go h.broadcastInput(ctx, v.In)
	}
	e := newCore(cfg, stdio, ln, f, h.session)
	served := make(chan error, 1)
	go serveCore(ctx, e, served)
	result, quitted := h.wait(ctx, served)
	cause := context.Cause(ctx)
	cancel(nil)
	if result == nil {
		result = <-served // every session has ended
	}
	if cerr := v.Close(); result == nil {
		result = cerr
	}
	st := ioutil.Stats{Sent: h.sent.Load(), Received: h.received.Load()}
	report(cfg, stdio, v, nil, st, time.Since(start), serverEnd(result, cause, quitted)) // -v summary, --sha256, --stats-json
	switch {
	case result != nil:
		return result
	case quitted, cause == nil, errors.Is(cause, errStdoutGone):
		return nil
	}
	return cause // context.Canceled (interrupted) or a stdin/stdout failure
}

// serveEngine runs e until its context ends; a named function so it shows
// in goroutine dumps. The owner receives from done.
func serveCore(ctx context.Context, e *core, done chan<- error) {
	done <- e.serve(ctx)
}

// wait waits for the end of a -k server: -q after stdin EOF (quitted), the
// engine failing (its error; the engine has then stopped), or ctx.
func (h *hub) wait(ctx context.Context, served <-chan error) (result error, quitted bool) {
	inputDone := h.inputDone
	var quit <-chan time.Time
	for {
		select {
		case <-inputDone:
			inputDone = nil
			if q := h.cfg.Stream.QuitAfter; q >= 0 {
				t := time.NewTimer(q)
				defer t.Stop()
				quit = t.C
			}
		case <-quit:
			return nil, true
		case err := <-served:
			if err == nil {
				err = errEngineStopped
			}
			return err, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// errEngineStopped: the engine stopped although nothing asked it to.
var errEngineStopped = errors.New("listener stopped")

// errStdoutGone ends a multi-client server quietly: stdout was closed by its
// reader.
var errStdoutGone = errors.New("stdout closed")

// hub is the shared state of a -k server.
type hub struct {
	cfg   *Config
	stdio Stdio
	end   context.CancelCauseFunc // stops the server with a cause
	pool  *bufPool

	outMu sync.Mutex // serialises writes to out: one client read per Write
	out   io.Writer

	mu        sync.Mutex // guards following
	clients   map[*kclient]struct{}
	eof       bool          // stdin reached EOF (or is never read): no more chunks
	first     chan struct{} // closed when the first client arrives
	inputDone chan struct{} // closed at stdin EOF

	sent     atomic.Int64 // bytes written to clients
	received atomic.Int64 // bytes read from clients
}

// writeOut writes one client read to stdout. A closed stdout ends the server
// quietly; another write error ends it with that error.
func (h *hub) writeOut(b []byte) error {
	h.outMu.Lock()
	_, err := h.out.Write(b)
	h.outMu.Unlock()
	return stdoutError(h.end, err)
}

// stdoutError ends a server through end when a write to stdout failed.
func stdoutError(end context.CancelCauseFunc, err error) error {
	switch {
	case err == nil:
		return nil
	case ioutil.OutputClosed(err):
		end(errStdoutGone)
		return errStdoutGone
	}
	err = fmt.Errorf("write stdout: %w", err)
	end(err)
	return errStdoutGone
}

// kclient is one connected -k client.
type kclient struct {
	conn  net.Conn
	q     chan []byte // stdin chunks; closed at stdin EOF; nil if it came after
	gone  chan struct{}
	leave chan struct{} // closed at its EOF: write what is queued, then FIN
	wdone chan struct{} // closed when its writer is done (or it has none)
	// wstarted: its writer was started (guarded by hub.mu)
	wstarted bool
	once     sync.Once
	last     atomic.Int64 // unix nanoseconds of the last byte moved (for -i)
	sent     atomic.Int64
	recvd    atomic.Int64
	timeout  atomic.Bool // ended by -i
}

// kill ends the client's I/O at once; the goroutines then wind down.
func (c *kclient) kill() {
	c.once.Do(func() {
		close(c.gone)
		c.conn.SetDeadline(ioutil.ALongTimeAgo)
	})
}

// session runs one admitted client: its bytes to stdout, stdin chunks to
// it. It ends at the client's EOF or reset (SPEC §5), even while stdin is
// open and idle.
func (h *hub) session(_ context.Context, conn net.Conn) (ioutil.Stats, error) {
	c := &kclient{conn: conn, gone: make(chan struct{}), leave: make(chan struct{}), wdone: make(chan struct{})}
	c.last.Store(time.Now().UnixNano())
	h.mu.Lock()
	if !h.eof {
		c.q = make(chan []byte, keepOpenQueue)
	} else {
		close(c.wdone) // no stdin for it: no writer
	}
	h.clients[c] = struct{}{}
	if h.first != nil {
		close(h.first)
		h.first = nil
	}
	h.mu.Unlock()
	if c.q == nil && !h.cfg.Stream.NoShutdown {
		ioutil.CloseWrite(c.conn) // stdin already ended: nothing will come
	}
	err := h.readClient(c)
	h.mu.Lock()
	delete(h.clients, c) // from now on no chunk is queued and no writer started for it
	started := c.wstarted
	h.mu.Unlock()
	if err == nil && started {
		// At its EOF the session ends once what was already queued for it
		// is written; it does not wait for more stdin (SPEC §5). One that
		// does not take even that is not waited on.
		close(c.leave)
		t := time.NewTimer(brokerStall)
		select {
		case <-c.wdone:
		case <-t.C:
		}
		t.Stop()
	}
	c.kill()
	if started {
		<-c.wdone
	}
	st := ioutil.Stats{Sent: c.sent.Load(), Received: c.recvd.Load()}
	if c.timeout.Load() {
		return st, ioutil.ErrIdle
	}
	return st, err
}

// readClient copies the client's bytes to stdout until EOF.
func (h *hub) readClient(c *kclient) error {
	idle := h.cfg.Stream.IdleTimeout
	discard := h.cfg.Stream.SendOnly
	for {
		if idle > 0 {
			c.conn.SetReadDeadline(time.Unix(0, c.last.Load()).Add(idle))
		}
		err := readPooled(c.conn, h.pool, func(b []byte) error {
			c.last.Store(time.Now().UnixNano())
			c.recvd.Add(int64(len(b)))
			h.received.Add(int64(len(b)))
			if discard {
				return nil
			}
			return h.writeOut(b)
		})
		switch {
		case err == io.EOF:
			return nil
		case idle > 0 && errors.Is(err, os.ErrDeadlineExceeded) && !isKilled(c):
			if time.Since(time.Unix(0, c.last.Load())) >= idle {
				c.timeout.Store(true)
				return ioutil.ErrIdle
			}
			continue // the writer moved bytes meanwhile
		case err != nil:
			return err
		}
	}
}

func isKilled(c *kclient) bool {
	select {
	case <-c.gone:
		return true
	default:
		return false
	}
}

// writeClient writes stdin chunks to the client, then half-closes it.
// startWriterLocked starts c's writer on its first chunk of stdin (or at
// stdin EOF, to send FIN), so an idle client costs no goroutine for it. h.mu
// must be held; a client that has left gets none.
func (h *hub) startWriterLocked(c *kclient) {
	if c.wstarted || c.q == nil {
		return
	}
	if _, ok := h.clients[c]; !ok {
		return
	}
	c.wstarted = true
	go h.writeClient(c) // joined by session through c.wdone
}

func (h *hub) writeClient(c *kclient) {
	defer close(c.wdone)
	var bufs net.Buffers
	for {
		var b []byte
		var ok bool
		select {
		case b, ok = <-c.q:
		case <-c.leave:
			select { // what was queued before it left, then FIN
			case b, ok = <-c.q:
			default:
				b, ok = nil, false
			}
		case <-c.gone:
			return
		}
		if !ok {
			if !h.cfg.Stream.NoShutdown {
				ioutil.CloseWrite(c.conn)
			}
			return
		}
		bufs = append(bufs[:0], b)
		bufs, ok = drainQueue(c.q, bufs, 1<<20)
		w := bufs
		n, err := w.WriteTo(c.conn)
		clear(bufs)
		c.sent.Add(n)
		h.sent.Add(n)
		c.last.Store(time.Now().UnixNano())
		if err != nil {
			c.kill()
			return
		}
		if !ok { // the queue was closed while draining
			if !h.cfg.Stream.NoShutdown {
				ioutil.CloseWrite(c.conn)
			}
			return
		}
	}
}

// drainQueue appends the chunks already waiting in q (without blocking) to
// bufs, up to limit bytes, so one writev carries them. ok is false when q
// was found closed.
func drainQueue(q <-chan []byte, bufs net.Buffers, limit int) (net.Buffers, bool) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	for n < limit && len(bufs) < 512 {
		select {
		case b, ok := <-q:
			if !ok {
				return bufs, false
			}
			bufs = append(bufs, b)
			n += len(b)
		default:
			return bufs, true
		}
	}
	return bufs, true
}

// broadcastInput reads stdin once a first client is there and hands each
// chunk to every client connected at that moment.
func (h *hub) broadcastInput(ctx context.Context, in io.Reader) {
	h.mu.Lock()
	first := h.first
	h.mu.Unlock()
	if first != nil {
		select {
		case <-first:
		case <-ctx.Done():
			return
		}
	}
	buf := make([]byte, h.cfg.Net.Buffer())
	var targets []*kclient
	for {
		n, err := in.Read(buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...) // shared by every client, never changed
			targets = h.snapshot(targets[:0])
			for _, c := range targets {
				h.mu.Lock()
				h.startWriterLocked(c)
				h.mu.Unlock()
				select {
				case c.q <- chunk:
				case <-c.gone:
				case <-ctx.Done():
					return
				}
			}
			clear(targets)
		}
		if err != nil {
			if err != io.EOF && ctx.Err() == nil {
				h.end(fmt.Errorf("read stdin: %w", err))
				return
			}
			h.inputEOF()
			return
		}
	}
}

// snapshot appends the clients that take stdin.
func (h *hub) snapshot(dst []*kclient) []*kclient {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if c.q != nil {
			dst = append(dst, c)
		}
	}
	return dst
}

// inputEOF marks stdin as finished: queued chunks drain, then FIN.
func (h *hub) inputEOF() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.eof {
		return
	}
	h.eof = true
	for c := range h.clients {
		if c.q != nil {
			close(c.q)
			h.startWriterLocked(c) // to send FIN
		}
	}
	close(h.inputDone)
}

// bufPool lends read buffers to clients only while data is there to read,
// so a thousand idle clients hold no buffers.
type bufPool struct {
	size int
	p    sync.Pool
}

func newBufPool(size int) *bufPool {
	bp := &bufPool{size: size}
	bp.p.New = func() any {
		b := make([]byte, size)
		return &b
	}
	return bp
}

// readPooled reads once from c into a buffer from pool and passes the bytes
// to use (which must not keep them). It returns io.EOF at the end of the
// stream, the read error, or use's error.
//
// On a socket the buffer is taken only when data is there: the read is tried
// inside syscall.RawConn.Read, and when it would block the buffer goes back
// to the pool before the goroutine parks (a thousand idle clients hold no
// buffers), at no more system calls than net.Conn.Read makes. Read deadlines
// apply. Other connections (TLS) hold a buffer while they wait.
func readPooled(c net.Conn, pool *bufPool, use func([]byte) error) error {
	rc := rawConn(c)
	if rc == nil {
		bp := pool.p.Get().(*[]byte)
		defer pool.p.Put(bp)
		n, err := c.Read(*bp)
		if n > 0 {
			if uerr := use((*bp)[:n]); uerr != nil {
				return uerr
			}
		}
		return err
	}
	var (
		bp   *[]byte
		n    int
		rerr error
	)
	err := rc.Read(func(fd uintptr) bool {
		bp = pool.p.Get().(*[]byte)
		var wouldBlock bool
		n, wouldBlock, rerr = readFD(fd, *bp)
		if wouldBlock {
			pool.p.Put(bp)
			bp = nil
			return false // park until readable, holding nothing
		}
		return true
	})
	if bp != nil {
		defer pool.p.Put(bp)
	}
	if err == nil {
		err = rerr
	}
	switch {
	case err != nil:
		return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", err)}
	case n <= 0:
		return io.EOF
	}
	return use((*bp)[:n])
}

// rawConn returns the raw socket of c, or nil when c is not a socket.
func rawConn(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
