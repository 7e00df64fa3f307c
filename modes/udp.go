package modes

import (
	"bufio"
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

// connectUDP sends stdin as datagrams to HOST PORT (or a Unix datagram socket
// with -U) and prints every datagram received, boundaries kept (SPEC §4).
func connectUDP(ctx context.Context, cfg *Config, stdio Stdio) error {
	var (
		c   net.Conn
		err error
	)
	if cfg.Unix {
		c, err = dialUnixgram(ctx, cfg)
	} else {
		c, err = dialAddrs(ctx, cfg, stdio, "udp")
	}
	if err != nil {
		return err
	}
	defer c.Close()
	logf(cfg, stdio, "sending datagrams to %s", peerName(c))
	if cfg.Serve.Exec != "" || cfg.Serve.ShExec != "" { // one child for the one peer
		_, err := execConn(ctx, cfg, c, stdio)
		return err
	}
	v, err := openViews(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := datagramSession(ctx, cfg, c, v, stdio, nil)
	if cerr := v.Close(); err == nil {
		err = cerr
	}
	report(cfg, stdio, v, c, st, time.Since(start), err)
	return err
}

// readDatagram reads one datagram and reports whether the kernel cut it to
// fit the buffer.
func readDatagram(c net.Conn, b []byte) (n int, from net.Addr, truncated bool, err error) {
	switch c := c.(type) {
	case interface {
		ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error)
	}:
		var flags int
		var a *net.UDPAddr
		n, _, flags, a, err = c.ReadMsgUDP(b, nil)
		if a != nil {
			from = a
		}
		return n, from, flags&msgTrunc != 0, err
	case interface {
		ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
	}: // also ownedUnixgram, which removes its path on Close
		var flags int
		var a *net.UnixAddr
		n, _, flags, a, err = c.ReadMsgUnix(b, nil)
		if a != nil {
			from = a
		}
		return n, from, flags&msgTrunc != 0, err
	}
	n, err = c.Read(b)
	return n, nil, false, err
}

// datagramSession runs both directions of a datagram socket. With peers ==
// nil the socket is connected and sends go to its peer; otherwise each send
// goes to the latest sender peers has seen, waiting until there is one.
// It joins its sender and receiver; only the stdin reader (readInput) is
// left behind when it is blocked in a read that cannot be interrupted.
func datagramSession(ctx context.Context, cfg *Config, c net.Conn, v *views, stdio Stdio, peers *peerTracker) (ioutil.Stats, error) {
	d := &dgramSession{cfg: cfg, c: c, v: v, stdio: stdio, peers: peers, bufSize: cfg.Net.Buffer(), inputEOF: make(chan struct{})}
	d.quit = cfg.Stream.QuitAfter
	if d.quit < 0 && peers == nil {
		d.quit = DefaultUDPQuit
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(ioutil.ALongTimeAgo) })
	defer stop()

	sendDone, recvErr := make(chan error, 1), make(chan error, 1)
	var wg sync.WaitGroup
	if !cfg.Stream.RecvOnly { // else stdin is never read; the receive side decides the end
		chunks, quitInput := make(chan inputChunk), make(chan struct{})
		defer close(quitInput)
		lines := (cfg.StdinTTY || cfg.Stream.Lines) && !framedByViews(v.In) // views cut lines before encoding
		go readInput(v.In, lines, sendLimit(c, d.bufSize), chunks, quitInput)
		wg.Add(1)
		go d.sendDatagrams(sctx, &wg, chunks, sendDone)
	}
	wg.Add(1)
	go d.receiveDatagrams(&wg, recvErr)
	err := d.wait(ctx, sendDone, recvErr)
	cancel()
	c.SetDeadline(ioutil.ALongTimeAgo)
	wg.Wait()
	st := ioutil.Stats{Sent: d.sent.Load(), Received: d.received.Load(), SendDone: d.sendDone.Load()}
	return st, d.result(ctx, err)
}

// dgramSession is the shared state of datagramSession.
type dgramSession struct {
	cfg      *Config
	c        net.Conn
	v        *views
	stdio    Stdio
	peers    *peerTracker
	bufSize  int
	quit     time.Duration // quiet period after stdin EOF (< 0: none)
	inputEOF chan struct{} // closed once stdin is all sent
	eofOnce  sync.Once

	lastRecv atomic.Int64 // unix nanoseconds of the last datagram
	received atomic.Int64
	sent     atomic.Int64
	sendDone atomic.Bool
}

// wait runs until the session ends and returns why.
func (d *dgramSession) wait(ctx context.Context, sendDone, recvErr <-chan error) error {
	var idle <-chan time.Time
	if d.cfg.Stream.IdleTimeout > 0 {
		t := time.NewTicker(idleTick(d.cfg.Stream.IdleTimeout))
		defer t.Stop()
		idle = t.C
	}
	start := time.Now()
	for {
		select {
		case serr := <-sendDone:
			sendDone = nil
			if serr != nil {
				return serr
			}
			d.sendDone.Store(true)
			d.eofOnce.Do(func() { close(d.inputEOF) })
			if d.quit >= 0 {
				d.c.SetReadDeadline(time.Now().Add(d.quit))
			}
		case rerr := <-recvErr:
			if errors.Is(rerr, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				return errQuit // the quiet period after stdin EOF passed
			}
			return rerr
		case <-idle:
			last := start
			if n := d.lastRecv.Load(); n != 0 {
				last = time.Unix(0, n)
			}
			if time.Since(last) >= d.cfg.Stream.IdleTimeout {
				return ioutil.ErrIdle
			}
		}
	}
}

// result turns the reason the session ended into its error.
func (d *dgramSession) result(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, errQuit):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ioutil.ErrIdle):
		return fmt.Errorf("%w: nothing moved for %v", err, d.cfg.Stream.IdleTimeout)
	case ioutil.OutputClosed(err):
		return nil // stdout closed by its reader
	case errors.Is(err, syscall.ECONNREFUSED):
		return describe("connect", peerName(d.c), err)
	}
	return describe("udp", addrString(d.c.LocalAddr()), err)
}

// receiveDatagrams writes each datagram received to stdout with one Write,
// which keeps its boundaries, until a read or a write fails.
func (d *dgramSession) receiveDatagrams(wg *sync.WaitGroup, res chan<- error) {
	defer wg.Done()
	b := make([]byte, d.bufSize)
	for {
		n, from, trunc, err := readDatagram(d.c, b)
		if err != nil {
			res <- err
			return
		}
		d.lastRecv.Store(time.Now().UnixNano())
		if trunc {
			warnf(d.stdio, "datagram from %s truncated to the %d-byte buffer (-B)", fromName(d.c, from), d.bufSize)
		}
		if d.peers != nil && from != nil && !d.admit(from) {
			continue
		}
		if _, werr := d.v.Out.Write(b[:n]); werr != nil {
			res <- werr
			return
		}
		d.received.Add(int64(n))
		select {
		case <-d.inputEOF:
			if d.quit >= 0 {
				d.c.SetReadDeadline(time.Now().Add(d.quit))
			}
		default:
		}
	}
}

// admit notes a listener's sender and says whether its datagram is printed.
func (d *dgramSession) admit(from net.Addr) bool {
	switch d.peers.note(from) {
	case senderNew:
		logf(d.cfg, d.stdio, "datagram from new sender %s", addrString(from))
	case senderRefused:
		logf(d.cfg, d.stdio, "refused datagrams from %s", addrString(from))
		return false
	case senderRefusedAgain:
		return false
	}
	return true
}

var errQuit = errors.New("quit")

func idleTick(d time.Duration) time.Duration {
	if c := d / 10; c > 10*time.Millisecond {
		return c
	}
	return 10 * time.Millisecond
}

func isEPIPE(err error) bool { return errors.Is(err, syscall.EPIPE) }

func fromName(c net.Conn, from net.Addr) string {
	if from != nil {
		return addrString(from)
	}
	return peerName(c)
}

// Largest UDP payloads: 65535 minus the IPv4 (20) or IPv6-less (0) header
// and the UDP header (8). A larger send fails with EMSGSIZE.
const (
	maxUDP4Payload = 65507
	maxUDP6Payload = 65527
)

// sendLimit is the largest datagram sockcat sends on c: the -B size, capped
// at what one UDP datagram of c's family can carry (the default 64K is 29
// bytes too big for IPv4). Reading stdin in chunks of this size splits it
// differently but loses nothing.
func sendLimit(c net.Conn, bufSize int) int {
	a, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return bufSize // Unix datagrams: the socket buffer is the limit
	}
	limit := maxUDP6Payload
	if ip := a.IP; ip.To4() != nil || (ip.IsUnspecified() && peerIs4(c)) {
		limit = maxUDP4Payload
	}
	return min(bufSize, limit)
}

// peerIs4 reports whether a connected socket's peer is IPv4 (a listener's
// dual-stack socket may send to IPv4 senders: use the smaller limit).
func peerIs4(c net.Conn) bool {
	if r, ok := c.RemoteAddr().(*net.UDPAddr); ok && r != nil {
		return r.IP.To4() != nil
	}
	return true
}

// inputChunk is one read of stdin (one datagram), or the error that ended
// the input (io.EOF at its end).
type inputChunk struct {
	b   []byte
	err error
}

// readInput reads stdin into chunks, one datagram each (a line with
// lines), and ends with the error that stopped it. It is not joined: a read
// blocked on a terminal or an idle pipe cannot be interrupted (as in
// ioutil.Pump); it ends at its next read once quit is closed, or with the
// process.
func readInput(in io.Reader, lines bool, bufSize int, out chan<- inputChunk, quit <-chan struct{}) {
	emit := func(ch inputChunk) bool {
		select {
		case out <- ch:
			return true
		case <-quit:
			return false
		}
	}
	if lines {
		br := bufio.NewReaderSize(in, bufSize)
		for {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				err = fmt.Errorf("a line longer than the %d-byte buffer (-B) cannot be one datagram", bufSize)
			}
			if len(line) > 0 && (err == nil || err == io.EOF) && !emit(inputChunk{b: append([]byte(nil), line...)}) {
				return
			}
			if err != nil {
				emit(inputChunk{err: err})
				return
			}
		}
	}
	b := make([]byte, bufSize)
	for {
		n, err := in.Read(b)
		if n > 0 && !emit(inputChunk{b: append([]byte(nil), b[:n]...)}) {
			return
		}
		if err != nil {
			emit(inputChunk{err: err})
			return
		}
	}
}

// sendDatagrams sends each chunk of stdin as one datagram, to the peer or
// (a listener) to the latest sender, or every sender with -k, until stdin
// ends, a send fails or ctx ends; done receives the error (nil at EOF).
func (d *dgramSession) sendDatagrams(ctx context.Context, wg *sync.WaitGroup, chunks <-chan inputChunk, done chan<- error) {
	defer wg.Done()
	var err error
	for err == nil {
		select {
		case ch := <-chunks:
			if ch.err != nil {
				if ch.err != io.EOF {
					err = ch.err
				}
				if err == nil {
					done <- nil
					return
				}
				break
			}
			if err = d.send(ctx, ch.b); err == nil {
				d.sent.Add(int64(len(ch.b)))
			}
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if ctx.Err() == nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			err = describe("connect", peerName(d.c), err)
		} else if le := localFileError(err); le != nil {
			err = le // stdin, not the socket
		} else {
			err = fmt.Errorf("send: %w", reason(err))
		}
	}
	done <- err
}

// send sends one datagram.
func (d *dgramSession) send(ctx context.Context, p []byte) error {
	if d.peers == nil {
		_, err := d.c.Write(p)
		return err
	}
	dsts, err := d.peers.targets(ctx)
	if err != nil {
		return err
	}
	for _, dst := range dsts {
		_, err = d.c.(interface {
			WriteTo([]byte, net.Addr) (int, error)
		}).WriteTo(p, dst)
		if err != nil && len(dsts) == 1 {
			return err
		} // with -k, a sender that went away does not stop the others
	}
	return nil
}

// listenUDP prints datagrams from every sender and sends stdin to the most
// recent one (SPEC §4). It runs until interrupted, the idle timeout, or -q
// after stdin EOF.
func listenUDP(ctx context.Context, cfg *Config, stdio Stdio) error {
	c, err := listenPacket(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := joinGroups(cfg, stdio, c); err != nil { // before announcing: senders may start then
		return err
	}
	f, err := newFilter(ctx, cfg)
	if err != nil {
		return err
	}
	defer mapPort(ctx, cfg, stdio, c.LocalAddr())() // --map-port: deleted on every way out
	if uc, ok := c.(*net.UDPConn); ok && childOrForward(cfg) {
		return serveSenders(ctx, cfg, stdio, uc, f)
	}
	v, err := openViews(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	if err := announce(cfg, stdio, c.LocalAddr()); err != nil {
		v.Close()
		return err
	}
	start := time.Now()
	peers := newPeerTracker()
	peers.filter = f
	if cfg.Serve.KeepOpen {
		peers.keep = maxConns(cfg)
	}
	st, err := datagramSession(ctx, cfg, c, v, stdio, peers)
	if cerr := v.Close(); err == nil {
		err = cerr
	}
	report(cfg, stdio, v, c, st, time.Since(start), err)
	return err
}

// listenPacket opens the UDP (or Unix datagram) socket of a listener.
func listenPacket(ctx context.Context, cfg *Config) (net.Conn, error) {
	if cfg.Unix {
		return listenUnixgram(ctx, cfg)
	}
	nw, addr, err := listenAddr(ctx, cfg, "udp")
	if err != nil {
		return nil, err
	}
	pc, err := listenConfig(cfg).ListenPacket(ctx, nw, addr)
	if err != nil {
		return nil, describe("listen on", addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// peerTracker remembers the senders a datagram listener has heard from and
// which one was the latest. With -k (keep > 0) stdin goes to every sender
// heard from, at most keep of them, the least recent forgotten first.
type peerTracker struct {
	filter *filter // --allow/--deny for senders (nil: everyone)
	keep   int     // -k: how many senders get stdin (0: only the latest)

	mu      sync.Mutex      // guards following
	seen    map[string]bool // sender → allowed
	last    net.Addr
	senders []net.Addr    // -k: allowed senders, most recent last
	ready   chan struct{} // closed once last is set
}

func newPeerTracker() *peerTracker {
	return &peerTracker{seen: map[string]bool{}, ready: make(chan struct{})}
}

// maxSendersSeen bounds the senders a datagram listener remembers (SPEC §4):
// a flood from spoofed sources cannot grow its memory without limit.
const maxSendersSeen = 4096

// What note found out about a sender.
const (
	senderKnown        = iota // heard from before
	senderNew                 // first datagram from it
	senderRefused             // first datagram from a sender the filter refuses
	senderRefusedAgain        // a refused sender again
)

// note records a datagram from a and tells whether a is new or refused. A
// Unix datagram sender that bound no path cannot be answered and is not
// remembered.
func (p *peerTracker) note(a net.Addr) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := a.String()
	allowed, known := p.seen[k]
	if !known {
		if len(p.seen) >= maxSendersSeen {
			clear(p.seen) // bounded: a forgotten sender is merely logged again
		}
		allowed = p.filter.allowed(a)
		p.seen[k] = allowed
	}
	if !allowed {
		if known {
			return senderRefusedAgain
		}
		return senderRefused
	}
	if ua, ok := a.(*net.UnixAddr); ok && ua.Name == "" {
		return senderKnown // unnamed: nothing to answer
	}
	if p.last == nil {
		close(p.ready)
	}
	p.last = a
	if p.keep > 0 {
		for i, s := range p.senders {
			if s.String() == k {
				p.senders = append(p.senders[:i], p.senders[i+1:]...)
				break
			}
		}
		if len(p.senders) >= p.keep {
			p.senders = p.senders[1:]
		}
		p.senders = append(p.senders, a)
	}
	if known {
		return senderKnown
	}
	return senderNew
}

// latest returns the most recent sender, waiting for the first one.
func (p *peerTracker) latest(ctx context.Context) (net.Addr, error) {
	select {
	case <-p.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, nil
}

// targets returns where a chunk of stdin goes: the latest sender, or with -k
// every sender remembered; it waits for the first one.
func (p *peerTracker) targets(ctx context.Context) ([]net.Addr, error) {
	last, err := p.latest(ctx)
	if err != nil {
		return nil, err
	}
	if p.keep == 0 {
		return []net.Addr{last}, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]net.Addr(nil), p.senders...), nil
}
