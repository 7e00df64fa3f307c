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

// ConnectUDP sends stdin as datagrams to HOST PORT (or a Unix datagram socket
// with -U) and prints every datagram received, boundaries kept (SPEC §4).
func ConnectUDP(ctx context.Context, cfg *Config, stdio Stdio) error {
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
func datagramSession(ctx context.Context, cfg *Config, c net.Conn, v *views, stdio Stdio, peers *peerTracker) (ioutil.Stats, error) {
	bufSize := cfg.Net.Buffer()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(aLongTimeAgo) })
	defer stop()

	var st ioutil.Stats
	var mu sync.Mutex // guards st.Sent
	sendDone := make(chan error, 1)
	go sendDatagrams(ctx, cfg, c, v.In, sendLimit(c, bufSize), peers, sendDone, func(n int) {
		mu.Lock()
		st.Sent += int64(n)
		mu.Unlock()
	})

	quit := cfg.Stream.QuitAfter
	if quit < 0 && peers == nil {
		quit = DefaultUDPQuit
	}
	recvErr := make(chan error, 1)
	var inputDone sync.Once
	var lastRecv atomic.Int64 // unix nanoseconds of the last datagram
	var received atomic.Int64
	inputEOF := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // receive: one Write per datagram keeps boundaries
		defer wg.Done()
		b := make([]byte, bufSize)
		for {
			n, from, trunc, err := readDatagram(c, b)
			if err == nil {
				lastRecv.Store(time.Now().UnixNano())
				if trunc {
					warnf(stdio, "datagram from %s truncated to the %d-byte buffer (-B)", fromName(c, from), bufSize)
				}
				if peers != nil && from != nil {
					switch peers.note(from) {
					case senderNew:
						logf(cfg, stdio, "datagram from new sender %s", addrString(from))
					case senderRefused:
						logf(cfg, stdio, "refused datagrams from %s", addrString(from))
						continue
					case senderRefusedAgain:
						continue
					}
				}
				if _, werr := v.Out.Write(b[:n]); werr != nil {
					recvErr <- werr
					return
				}
				received.Add(int64(n))
				select {
				case <-inputEOF:
					if quit >= 0 {
						c.SetReadDeadline(time.Now().Add(quit))
					}
				default:
				}
				continue
			}
			recvErr <- err
			return
		}
	}()

	var err error
	var idle <-chan time.Time
	if cfg.Stream.IdleTimeout > 0 {
		t := time.NewTicker(idleTick(cfg.Stream.IdleTimeout))
		defer t.Stop()
		idle = t.C
	}
	start := time.Now()
	for err == nil {
		select {
		case serr := <-sendDone:
			sendDone = nil
			if serr != nil {
				err = serr
				break
			}
			st.SendDone = true
			inputDone.Do(func() { close(inputEOF) })
			if quit >= 0 {
				c.SetReadDeadline(time.Now().Add(quit))
			}
		case rerr := <-recvErr:
			if errors.Is(rerr, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				err = errQuit // the quiet period after stdin EOF passed
				break
			}
			err = rerr
		case <-idle:
			last := start
			if n := lastRecv.Load(); n != 0 {
				last = time.Unix(0, n)
			}
			if time.Since(last) >= cfg.Stream.IdleTimeout {
				err = ioutil.ErrIdle
			}
		}
	}
	c.SetDeadline(aLongTimeAgo)
	wg.Wait()
	st.Received = received.Load()
	mu.Lock()
	defer mu.Unlock()
	switch {
	case errors.Is(err, errQuit):
		return st, nil
	case ctx.Err() != nil:
		return st, ctx.Err()
	case errors.Is(err, ioutil.ErrIdle):
		return st, fmt.Errorf("%w: nothing moved for %v", err, cfg.Stream.IdleTimeout)
	case isEPIPE(err):
		return st, nil // stdout closed by its reader
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return st, describe("connect", peerName(c), err)
	}
	return st, describe("udp", addrString(c.LocalAddr()), err)
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

// sendDatagrams reads in and sends each read (or each line, with a terminal
// or --lines) as one datagram.
func sendDatagrams(ctx context.Context, cfg *Config, c net.Conn, in io.Reader, bufSize int, peers *peerTracker, done chan<- error, sent func(int)) {
	if cfg.Stream.RecvOnly {
		return // never reads stdin; the receive side decides the end
	}
	send := func(p []byte) error {
		if peers == nil {
			_, err := c.Write(p)
			return err
		}
		dsts, err := peers.targets(ctx)
		if err != nil {
			return err
		}
		for _, dst := range dsts {
			_, err = c.(interface {
				WriteTo([]byte, net.Addr) (int, error)
			}).WriteTo(p, dst)
			if err != nil && len(dsts) == 1 {
				return err
			} // with -k, a sender that went away does not stop the others
		}
		return nil
	}
	lines := (cfg.StdinTTY || cfg.Stream.Lines) && !framedByViews(in) // views cut lines before encoding
	var err error
	if lines {
		br := bufio.NewReaderSize(in, bufSize)
		for {
			line, rerr := br.ReadSlice('\n')
			if errors.Is(rerr, bufio.ErrBufferFull) {
				rerr = fmt.Errorf("a line longer than the %d-byte buffer (-B) cannot be one datagram", bufSize)
			}
			if len(line) > 0 && (rerr == nil || rerr == io.EOF) {
				if err = send(line); err != nil {
					break
				}
				sent(len(line))
			}
			if rerr != nil {
				if rerr != io.EOF {
					err = rerr
				}
				break
			}
		}
	} else {
		b := make([]byte, bufSize)
		for {
			n, rerr := in.Read(b)
			if n > 0 {
				if err = send(b[:n]); err != nil {
					break
				}
				sent(n)
			}
			if rerr != nil {
				if rerr != io.EOF {
					err = rerr
				}
				break
			}
		}
	}
	if err != nil && ctx.Err() == nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			err = describe("connect", peerName(c), err)
		} else {
			err = fmt.Errorf("send: %w", reason(err))
		}
	}
	done <- err
}

// ListenUDP prints datagrams from every sender and sends stdin to the most
// recent one (SPEC §4). It runs until interrupted, the idle timeout, or -q
// after stdin EOF.
func ListenUDP(ctx context.Context, cfg *Config, stdio Stdio) error {
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
