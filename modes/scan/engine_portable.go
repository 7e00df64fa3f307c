package scan

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// The portable engine is a bounded pool of non-blocking dials through
// package net: Concurrency goroutines, each taking the next target, dialing
// it with the per-probe timeout and recording the outcome. It is the engine
// of macOS, FreeBSD and Windows, and runs on Linux under Options.Portable
// (the tests run every scan test on both engines). It gives up the epoll
// engine's socket reuse and fixed source ports, so on loopback it does
// several times the kernel work per port; see scripts/BENCHMARKS.md for how
// it compares with the epoll engine and with nc.

// portableBatchAge bounds how long a worker keeps results before handing
// them to the printer, so output streams while slow probes run.
const portableBatchAge = 20 * time.Millisecond

// pool is the state the workers of one portable run share.
type pool struct {
	s       *scanner
	targets []probe
	next    atomic.Int64 // index of the next target to start
	results chan<- []indexed
	dialer  net.Dialer
	errOnce sync.Once
	err     error
	cancel  context.CancelFunc
}

// runPortable probes targets with up to s.conc dials in flight.
func runPortable(ctx context.Context, s *scanner, targets []probe, results chan<- []indexed) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &pool{s: s, targets: targets, results: results, cancel: cancel}
	p.dialer = net.Dialer{Timeout: s.timeout, Control: s.portableControl()}
	var wg sync.WaitGroup
	for range min(s.conc, len(targets)) {
		wg.Add(1)
		go dialWorker(ctx, &wg, p)
	}
	wg.Wait()
	return p.err
}

// portableControl is Options.Control plus SO_REUSEADDR when every probe
// shares the source port of SourcePort.
func (s *scanner) portableControl() func(network, address string, c syscall.RawConn) error {
	user := s.opts.Control
	if s.opts.SourcePort == 0 || s.opts.UDP {
		return user
	}
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = setReuseAddr(fd) }); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		return user(network, address, c)
	}
}

// fail records the first error that ends the scan and stops the workers.
func (p *pool) fail(err error) {
	p.errOnce.Do(func() {
		p.err = err
		p.cancel()
	})
}

// take returns the index of the next target to probe.
func (p *pool) take(ctx context.Context) (int, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	i := p.next.Add(1) - 1
	if i >= int64(len(p.targets)) {
		return 0, false
	}
	return int(i), true
}

// dialWorker is one slot of the pool: it probes targets one at a time
// until none is left, the scan is cancelled or a local error ends it.
func dialWorker(ctx context.Context, wg *sync.WaitGroup, p *pool) {
	defer wg.Done()
	batch := make([]indexed, 0, resultBatch)
	since := time.Now()
	defer func() {
		if len(batch) > 0 {
			p.results <- batch
		}
	}()
	for {
		i, ok := p.take(ctx)
		if !ok {
			return
		}
		r, err := p.probe(ctx, p.targets[i])
		if err != nil {
			if ctx.Err() == nil {
				p.fail(err)
			}
			return
		}
		if len(batch) == 0 {
			since = time.Now()
		}
		batch = append(batch, indexed{i, r})
		if len(batch) == cap(batch) || time.Since(since) >= portableBatchAge {
			p.results <- batch
			batch = make([]indexed, 0, resultBatch)
		}
	}
}

// probe tests one target. An error ends the scan: a local error, or the
// cancellation of ctx.
func (p *pool) probe(ctx context.Context, t probe) (result, error) {
	if p.s.opts.UDP {
		return p.probeUDP(ctx, t)
	}
	return p.probeTCP(ctx, t)
}

// local is the source address a probe of t binds, or nil for the kernel's
// choice.
func (p *pool) local(t probe, udp bool) net.Addr {
	s := p.s
	if !s.opts.Source.IsValid() && s.opts.SourcePort == 0 {
		return nil
	}
	ap := netip.AddrPortFrom(s.bindAddr(t.addr), uint16(s.opts.SourcePort))
	if udp {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}

func (p *pool) probeTCP(ctx context.Context, t probe) (result, error) {
	d := p.dialer
	d.LocalAddr = p.local(t, false)
	network := "tcp4"
	if !t.addr.Is4() {
		network = "tcp6"
	}
	target := netip.AddrPortFrom(t.addr, t.port).String()
	start := time.Now()
	for tries := 1; ; tries++ {
		c, err := d.DialContext(ctx, network, target)
		rtt := time.Since(start)
		if err == nil {
			self := c.LocalAddr().String() == c.RemoteAddr().String()
			if self {
				// Simultaneous open: the kernel picked the target port
				// as the source port and the SYN met itself.
				abort(c)
			} else {
				c.Close()
				return result{stateOpen, reasonConnected, rtt}, nil
			}
			if tries >= selfConnectTries {
				return result{stateClosed, reasonSelf, rtt}, nil
			}
			continue
		}
		return p.tcpOutcome(ctx, t, err, rtt)
	}
}

// abort closes c with a reset (linger 0), leaving no TIME_WAIT behind.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// tcpOutcome turns a failed dial into a result, or into the error that
// ends the scan.
func (p *pool) tcpOutcome(ctx context.Context, t probe, err error, rtt time.Duration) (result, error) {
	switch {
	case ctx.Err() != nil:
		return result{}, ctx.Err()
	case isTimeout(err):
		return result{stateFiltered, reasonTimeout, 0}, nil
	case isRefused(err):
		return result{stateClosed, reasonRefused, rtt}, nil
	case isReset(err):
		return result{stateOpen, reasonReset, rtt}, nil
	case isLocal(err):
		return result{}, describe("scan", netip.AddrPortFrom(t.addr, t.port).String(), err)
	}
	return result{stateFiltered, reasonOf(err).Error(), rtt}, nil
}

// probeUDP connects a UDP socket to the target and sends an empty datagram;
// a reply means open, an ICMP port unreachable (a refused read on the
// connected socket) means closed, silence means open|filtered. The probe is
// sent again halfway through the timeout in case the first was lost.
func (p *pool) probeUDP(ctx context.Context, t probe) (result, error) {
	d := p.dialer
	d.LocalAddr = p.local(t, true)
	network := "udp4"
	if !t.addr.Is4() {
		network = "udp6"
	}
	target := netip.AddrPortFrom(t.addr, t.port).String()
	start := time.Now()
	c, err := d.DialContext(ctx, network, target)
	if err != nil {
		return p.udpOutcome(ctx, t, err, time.Since(start))
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(ioutil.ALongTimeAgo) })
	defer stop()
	buf := make([]byte, 1)
	for _, until := range []time.Duration{p.s.timeout / 2, p.s.timeout} {
		if _, err := c.Write(nil); err != nil {
			return p.udpOutcome(ctx, t, err, time.Since(start))
		}
		c.SetReadDeadline(start.Add(until))
		_, err := c.Read(buf)
		if err == nil || !isTimeout(err) || ctx.Err() != nil {
			return p.udpOutcome(ctx, t, err, time.Since(start))
		}
	}
	return result{stateOpenFiltered, reasonNoReply, 0}, nil
}

func (p *pool) udpOutcome(ctx context.Context, t probe, err error, rtt time.Duration) (result, error) {
	switch {
	case err == nil, isMessageSize(err):
		return result{stateOpen, reasonReply, rtt}, nil
	case ctx.Err() != nil:
		return result{}, ctx.Err()
	case isRefused(err):
		return result{stateClosed, reasonUnreachable, rtt}, nil
	case isTimeout(err):
		return result{stateOpenFiltered, reasonNoReply, 0}, nil
	case isLocal(err):
		return result{}, describe("scan", netip.AddrPortFrom(t.addr, t.port).String(), err)
	}
	return result{stateFiltered, reasonOf(err).Error(), rtt}, nil
}

// isTimeout reports a dial or read that ran out of time.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// resultBatch is how many results a worker collects before sending them:
// a channel operation per port, waking the printer each time, would cost
// more than the probe itself on loopback.
const resultBatch = 256
