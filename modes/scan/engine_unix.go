//go:build unix

package scan

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The socket engine talks to the kernel directly (non-blocking sockets and
// one poller per worker, one worker per CPU) rather than through net.Dialer:
// on loopback a refused connect costs a few microseconds of kernel time, and
// the netpoller, a goroutine per dial and a fresh socket per port cost
// several times that (a 1-65535 scan of 127.0.0.1 took 4 s with net.Dialer).
// What keeps it well under OpenBSD nc's time:
//   - connect(2) called a second time on a connecting socket reports the
//     outcome (0, EALREADY while in progress, or the error such as
//     ECONNREFUSED); on loopback the answer is in by then, so most ports
//     need no epoll round trip;
//   - a TCP socket whose connect was refused is back in the CLOSE state and
//     is reused for the next port, saving a socket(2) and close(2);
//   - each worker binds its sockets to one source address and port (see
//     homePorts), so a connect skips the search for an ephemeral port;
//   - connect is issued as a raw system call, and results reach the
//     printing goroutine in batches, so the Go scheduler is not woken per
//     port.
//
// No false "open" (simultaneous open): a connection whose two ends are the
// same address and port is a socket that met itself, not a listener; and no
// probe is ever sent from one worker's source port to another's, so two
// probes cannot meet each other either.

// runSockets probes targets with the socket engine: one worker goroutine
// per CPU, each with its own poller from newPoller, sharing s.conc probes.
// Results go to results in batches; it returns the first error of a worker.
//
// fast selects the Linux form: the outcome of a connect from a second
// connect(2), refused sockets reused and home ports (see the comment at the
// top). Without it each probe gets a fresh socket and its outcome comes from
// SO_ERROR, which is what macOS and FreeBSD need (a socket whose connect
// failed cannot connect again there).
func runSockets(ctx context.Context, s *scanner, targets []probe, results chan<- []indexed, newPoller func() (poller, error), fast bool) error {
	workers := workerCount(s.conc, len(targets))
	conc := min(s.conc, len(targets))
	e := &engine{s: s, targets: targets, results: results, newPoller: newPoller, fast: fast}
	if err := e.openWake(ctx); err != nil {
		return err
	}
	defer e.closeWake()

	homes := s.homePorts(e, workers)
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for i := range workers {
		wg.Add(1)
		go socketWorker(&wg, e, slotsOf(conc, workers, i), homes[i], errc)
	}
	wg.Wait()
	close(errc)
	return <-errc // nil when every worker ended without one
}

// socketWorker runs one worker of e and reports its error on errc; it
// wakes the others so they stop too.
func socketWorker(wg *sync.WaitGroup, e *engine, slots int, homes []home, errc chan<- error) {
	defer wg.Done()
	if err := e.work(slots, homes); err != nil {
		errc <- err
		e.cancel()
	}
}

// homePorts gives each TCP worker a source address and port per target
// address, chosen before any probe starts. A socket bound to a fixed port
// (the port lock) and to the address the route would pick keeps both when
// its connect is refused, so the next connect skips the kernel's search for
// a free ephemeral port and the bind-table updates: about a fifth of the
// kernel's work per port on loopback. -p sets the port for everyone; UDP
// sockets are not reused and get none.
func (s *scanner) homePorts(e *engine, workers int) [][]home {
	homes := make([][]home, workers)
	for i := range homes {
		homes[i] = make([]home, len(s.addrs))
		if s.opts.UDP || (!e.fast && s.opts.SourcePort == 0) {
			continue
		}
		for ai, a := range s.addrs {
			if s.opts.SourcePort != 0 {
				homes[i][ai] = home{s.bindAddr(a.addr), s.opts.SourcePort}
				continue
			}
			h, ok := s.pickHome(a)
			if !ok {
				continue
			}
			if e.homes == nil {
				e.homes = make([]uint64, 65536/64)
			}
			e.homes[h.port/64] |= 1 << (h.port % 64)
			homes[i][ai] = h
		}
	}
	return homes
}

// home is a local address and port to bind before connecting (port 0: none).
type home struct {
	addr netip.Addr
	port int
}

// engine is the state the workers of one run share.
type engine struct {
	s       *scanner
	targets []probe
	next    atomic.Int64     // index of the next target to start
	stop    atomic.Bool      // ctx is done: start nothing more
	results chan<- []indexed // batches of results, one worker's each
	homes   []uint64         // bitmap of the workers' home ports; read-only once workers run

	newPoller func() (poller, error)
	fast      bool // the Linux form (see runSockets)

	// wake is the read end of a pipe in every worker's poller; cancellation
	// writes to it so that workers blocked waiting return.
	wakeMu     sync.Mutex
	wake       int // read end
	wakeW      int // write end
	wakeClosed bool
	stopWake   func() bool
}

func (e *engine) openWake(ctx context.Context) error {
	var p [2]int
	if err := newPipe(&p); err != nil {
		return fmt.Errorf("scan: pipe: %w", err)
	}
	e.wake, e.wakeW = p[0], p[1]
	e.stopWake = context.AfterFunc(ctx, e.cancel)
	return nil
}

// cancel stops every worker: nothing new starts, and workers blocked in
// epoll_wait return.
func (e *engine) cancel() {
	e.stop.Store(true)
	e.wakeMu.Lock()
	defer e.wakeMu.Unlock()
	if !e.wakeClosed {
		unix.Write(e.wakeW, []byte{1}) // never read: the pipe stays readable
	}
}

func (e *engine) closeWake() {
	e.stopWake()
	e.wakeMu.Lock()
	defer e.wakeMu.Unlock()
	e.wakeClosed = true
	unix.Close(e.wake)
	unix.Close(e.wakeW)
}

// isHome reports whether port is some worker's home port.
func (e *engine) isHome(port uint16) bool {
	return e.homes != nil && e.homes[port/64]&(1<<(port%64)) != 0
}

// take returns the index of the next target to probe.
func (e *engine) take() (int, bool) {
	if e.stop.Load() {
		return 0, false
	}
	i := e.next.Add(1) - 1
	if i >= int64(len(e.targets)) {
		return 0, false
	}
	return int(i), true
}

// inflight is a probe waiting for its answer.
type inflight struct {
	i        int
	fd       int
	v6       bool
	raw4     unix.RawSockaddrInet4 // the target, as connect(2) takes it (Linux)
	raw6     unix.RawSockaddrInet6
	sa       unix.Sockaddr // the target, as unix.Connect takes it (elsewhere)
	start    time.Time
	deadline time.Time
	tries    int  // TCP: probes that connected to themselves
	reuse    bool // TCP: the socket is bound to the worker's home port (or to none when it has none)
	resent   bool // UDP: the probe datagram went out a second time
	done     bool
}

// worker runs up to slots probes at once with its own epoll set.
type worker struct {
	e      *engine
	s      *scanner
	poll   poller
	live   map[int]*inflight // by descriptor
	timers timerHeap
	spare  []int  // per target address: a refused TCP socket bound to home, or -1
	home   []home // per target address: the TCP source of this worker (port 0: the kernel picks)
	buf    []byte
	batch  []indexed
	// scratch is the probe being started; it is copied to the heap only
	// if the answer is not in at once, so most probes allocate nothing.
	scratch inflight
}

// work is one worker goroutine's loop: start probes while slots are free,
// then wait for answers and deadlines.
func (e *engine) work(slots int, homes []home) (err error) {
	pl, err := e.newPoller()
	if err != nil {
		return fmt.Errorf("scan: poller: %w", err)
	}
	w := &worker{e: e, s: e.s, poll: pl, live: make(map[int]*inflight, slots), spare: make([]int, len(homes)),
		home: homes, buf: make([]byte, 1), batch: make([]indexed, 0, resultBatch)}
	for i := range w.spare {
		w.spare[i] = -1
	}
	defer w.close()
	defer w.send()
	if err := pl.add(e.wake, false); err != nil {
		return fmt.Errorf("scan: poller: %w", err)
	}
	ready := make([]int, min(slots, 256)+1)
	more := true
	for {
		for more && len(w.live) < slots {
			var i int
			if i, more = e.take(); !more {
				break
			}
			if err := w.start(i); err != nil {
				return err
			}
		}
		if len(w.live) == 0 {
			if !more {
				return nil
			}
			continue
		}
		if e.stop.Load() {
			return nil
		}
		wait := w.waitMillis()
		if wait != 0 {
			w.send() // about to block: let the output catch up
		}
		n, err := pl.wait(ready, wait)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("scan: poller wait: %w", err)
		}
		for _, fd := range ready[:max(n, 0)] {
			if fd == e.wake {
				return nil
			}
			if p := w.live[fd]; p != nil {
				if err := w.answer(p); err != nil {
					return err
				}
			}
		}
		if err := w.expire(time.Now()); err != nil {
			return err
		}
	}
}

// waitMillis is how long epoll_wait may block: until the earliest timer.
func (w *worker) waitMillis() int {
	for len(w.timers) > 0 && w.timers[0].p.done {
		heap.Pop(&w.timers)
	}
	if len(w.timers) == 0 {
		return -1
	}
	d := time.Until(w.timers[0].when)
	if d <= 0 {
		return 0
	}
	return int(min((d+time.Millisecond-1)/time.Millisecond, math.MaxInt32))
}

func (w *worker) close() {
	for fd := range w.live {
		unix.Close(fd)
	}
	for _, fd := range w.spare {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	w.poll.close()
}

// finish records p's result and releases its slot. keep says the socket
// may serve the next TCP probe of the same address (a refused connect).
func (w *worker) finish(p *inflight, r result, keep bool) {
	p.done = true
	_, live := w.live[p.fd]
	if live {
		delete(w.live, p.fd)
		if keep {
			w.poll.del(p.fd)
		}
	}
	ai := w.e.targets[p.i].ai
	if keep && p.reuse && w.e.fast && w.spare[ai] < 0 {
		w.spare[ai] = p.fd
	} else {
		if live && !keep {
			w.poll.forget(p.fd)
		}
		unix.Close(p.fd)
	}
	w.batch = append(w.batch, indexed{p.i, r})
	if len(w.batch) == cap(w.batch) {
		w.send()
	}
}

// send hands the batch of results to the collector. Results travel in
// batches because a channel operation per port, waking the collector
// each time, would cost more than the probe itself on loopback.
func (w *worker) send() {
	if len(w.batch) > 0 {
		w.e.results <- w.batch
		w.batch = make([]indexed, 0, resultBatch)
	}
}

// socket opens a non-blocking socket for t with the options of the command
// line, bound to h, or to -s when h is empty.
func (w *worker) socket(t probe, typ int, h home) (int, error) {
	domain, nw := unix.AF_INET, "4"
	if !t.addr.Is4() {
		domain, nw = unix.AF_INET6, "6"
	}
	if typ == unix.SOCK_DGRAM {
		nw = "udp" + nw
	} else {
		nw = "tcp" + nw
	}
	fd, err := newSocket(domain, typ)
	if err != nil {
		return -1, describe("scan: socket for", t.addr.String(), err)
	}
	if err := w.s.opts.Control(nw, netip.AddrPortFrom(t.addr, t.port).String(), rawFD(fd)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("scan: socket options: %w", reasonOf(err))
	}
	if w.s.opts.Source.IsValid() || h.port != 0 {
		if h.port != 0 {
			// Many probes share the source port, each with its own peer.
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		}
		src := h.addr
		if !src.IsValid() {
			src = w.s.bindAddr(t.addr)
		}
		if err := unix.Bind(fd, sockaddr(src, 0, h.port)); err != nil {
			unix.Close(fd)
			return -1, describe("scan: bind", netip.AddrPortFrom(src, uint16(h.port)).String(), err)
		}
	}
	return fd, nil
}

// bindAddr is the local address to bind for a target: -s, or the wildcard
// of the target's family.
// -s) and a free port on it.
func (s *scanner) pickHome(target scanAddr) (home, bool) {
	domain := unix.AF_INET
	if !target.addr.Is4() {
		domain = unix.AF_INET6
	}
	src := s.opts.Source
	if !src.IsValid() {
		// A connected UDP socket learns the route's source address
		// without sending anything.
		fd, err := newSocket(domain, unix.SOCK_DGRAM)
		if err != nil {
			return home{}, false
		}
		err = unix.Connect(fd, sockaddr(target.addr, target.zone, 9))
		sa, _ := unix.Getsockname(fd)
		unix.Close(fd)
		if err != nil {
			return home{}, false
		}
		src = sockaddrAddr(sa)
		if !src.IsValid() || (src.Is6() && src.IsLinkLocalUnicast()) {
			return home{}, false // a zone would be needed: leave it to the kernel
		}
	}
	fd, err := newSocket(domain, unix.SOCK_STREAM)
	if err != nil {
		return home{}, false
	}
	defer unix.Close(fd)
	if unix.Bind(fd, sockaddr(src, 0, 0)) != nil {
		return home{}, false
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return home{}, false
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return home{src, sa.Port}, true
	case *unix.SockaddrInet6:
		return home{src, sa.Port}, true
	}
	return home{}, false
}

// sockaddrAddr is the IP address of a socket address.
func sockaddrAddr(sa unix.Sockaddr) netip.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr).Unmap()
	}
	return netip.Addr{}
}

// onHeap returns a copy of p that can outlive the next probe.
func (p *inflight) onHeap() *inflight {
	h := new(inflight)
	*h = *p
	return h
}

// sockaddr converts an address, zone index and port for the kernel.
func sockaddr(a netip.Addr, zone uint32, port int) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Port: port, Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: port, ZoneId: zone, Addr: a.As16()}
}

// rawFD lets the shared socket-option hook ([control]) work on a bare
// descriptor.
type rawFD int

func (fd rawFD) Control(f func(uintptr)) error { f(uintptr(fd)); return nil }
func (fd rawFD) Read(f func(uintptr) bool) error {
	f(uintptr(fd))
	return nil
}
func (fd rawFD) Write(f func(uintptr) bool) error {
	f(uintptr(fd))
	return nil
}

// start begins probing target i; the answer may come at once.
func (w *worker) start(i int) error {
	t := w.e.targets[i]
	p := &w.scratch
	*p = inflight{i: i, start: time.Now()}
	p.setAddr(t, w.e.fast)
	p.deadline = p.start.Add(w.s.timeout)
	if w.s.opts.UDP {
		return w.startUDP(p, t)
	}
	return w.startTCP(p, t)
}

func (w *worker) startTCP(p *inflight, t probe) error {
	h := w.home[t.ai]
	if w.e.isHome(t.port) {
		// Never from one home port to another: two probes, each aimed at
		// the other's source port, could meet in a simultaneous open.
		h = home{}
	}
	p.reuse = h == w.home[t.ai]
	fd := -1
	if p.reuse {
		fd, w.spare[t.ai] = w.spare[t.ai], -1
	}
	if fd < 0 {
		var err error
		if fd, err = w.socket(t, unix.SOCK_STREAM, h); err != nil {
			if h.port == 0 || w.s.opts.SourcePort != 0 {
				return err
			}
			// The port was taken meanwhile: let the kernel pick.
			w.home[t.ai], h, p.reuse = home{}, home{}, true
			if fd, err = w.socket(t, unix.SOCK_STREAM, h); err != nil {
				return err
			}
		}
	}
	p.fd = fd
	err := w.connect(p)
	if err == unix.EINPROGRESS {
		err = w.outcome(p) // the outcome, if it is in already (loopback)
	}
	if err == unix.EADDRNOTAVAIL && h.port != 0 && w.s.opts.SourcePort == 0 {
		// This source port and target are still in TIME_WAIT from an
		// earlier connection: use a port the kernel picks.
		unix.Close(fd)
		if fd, err = w.socket(t, unix.SOCK_STREAM, home{}); err != nil {
			return err
		}
		p.fd, p.reuse = fd, false
		if err = w.connect(p); err == unix.EINPROGRESS {
			err = w.outcome(p)
		}
	}
	if err == unix.EINPROGRESS || err == unix.EALREADY || err == unix.EINTR {
		if p == &w.scratch {
			p = p.onHeap()
		}
		w.live[fd] = p
		if err := w.poll.add(fd, true); err != nil {
			delete(w.live, fd)
			unix.Close(fd)
			return fmt.Errorf("scan: poller: %w", err)
		}
		heap.Push(&w.timers, timer{p.deadline, p})
		return nil
	}
	return w.tcpOutcome(p, err)
}

// tcpOutcome turns connect's verdict on p into a result; a probe still in
// progress stays in flight.
func (w *worker) tcpOutcome(p *inflight, err error) error {
	t := w.e.targets[p.i]
	rtt := time.Since(p.start)
	switch {
	case err == nil || err == unix.EISCONN:
		if !selfConnected(p.fd) {
			w.finish(p, result{stateOpen, reasonConnected, rtt}, false)
			return nil
		}
		// Simultaneous open: the kernel picked the target port as the
		// source port, and the SYN met itself. Nothing listens there.
		unix.SetsockoptLinger(p.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		p.tries++
		if p.tries >= selfConnectTries {
			w.finish(p, result{stateClosed, reasonSelf, rtt}, false)
			return nil
		}
		w.drop(p)
		again := &inflight{i: p.i, start: p.start, deadline: p.deadline, tries: p.tries}
		again.setAddr(t, w.e.fast)
		return w.startTCP(again, t)
	case err == unix.EINPROGRESS || err == unix.EALREADY || err == unix.EINTR:
		return nil // spurious wake-up: keep waiting
	case err == unix.ECONNREFUSED:
		w.finish(p, result{stateClosed, reasonRefused, rtt}, true)
	case err == unix.ECONNRESET:
		// Reset after the handshake completed: something accepted.
		w.finish(p, result{stateOpen, reasonReset, rtt}, false)
	case err == unix.ETIMEDOUT:
		w.finish(p, result{stateFiltered, reasonTimeout, 0}, false)
	case localError(err):
		w.drop(p)
		return describe("scan", netip.AddrPortFrom(t.addr, t.port).String(), err)
	default: // unreachable, prohibited: an ICMP error or a local firewall
		w.finish(p, result{stateFiltered, reasonOf(err).Error(), rtt}, false)
	}
	return nil
}

// drop closes p's socket without a result (it is probed again, or the scan
// ends).
func (w *worker) drop(p *inflight) {
	p.done = true
	if _, live := w.live[p.fd]; live {
		delete(w.live, p.fd)
		w.poll.forget(p.fd)
	}
	unix.Close(p.fd)
}

// localError reports errors about this host's resources rather than about
// the port: they end the scan instead of being reported per port.
func localError(err error) bool {
	switch err {
	case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM, unix.EADDRNOTAVAIL,
		unix.EAGAIN, unix.EADDRINUSE, unix.EAFNOSUPPORT, unix.EINVAL, unix.EBADF:
		return true
	}
	return false
}

// selfConnected reports a connection whose two ends are the same socket
// address (TCP simultaneous open with itself).
func selfConnected(fd int) bool {
	l, err1 := unix.Getsockname(fd)
	r, err2 := unix.Getpeername(fd)
	if err1 != nil || err2 != nil {
		return false
	}
	switch l := l.(type) {
	case *unix.SockaddrInet4:
		r, ok := r.(*unix.SockaddrInet4)
		return ok && l.Port == r.Port && l.Addr == r.Addr
	case *unix.SockaddrInet6:
		r, ok := r.(*unix.SockaddrInet6)
		return ok && l.Port == r.Port && l.Addr == r.Addr
	}
	return false
}

// startUDP connects a UDP socket to the target and sends an empty datagram;
// a reply means open, an ICMP port unreachable (ECONNREFUSED on the
// connected socket) means closed, silence means open|filtered. The probe is
// sent again halfway through the timeout in case the first was lost.
func (w *worker) startUDP(p *inflight, t probe) error {
	fd, err := w.socket(t, unix.SOCK_DGRAM, home{port: w.s.opts.SourcePort})
	if err != nil {
		return err
	}
	p.fd = fd
	err = w.connect(p)
	if err == nil {
		err = unix.Sendto(fd, nil, 0, nil)
	}
	if err == nil {
		err = w.udpRead(p) // on loopback the ICMP error is usually in already
	}
	if err != unix.EAGAIN && err != unix.EINTR {
		return w.udpOutcome(p, err)
	}
	if p == &w.scratch {
		p = p.onHeap()
	}
	w.live[fd] = p
	if err := w.poll.add(fd, false); err != nil {
		w.drop(p)
		return fmt.Errorf("scan: poller: %w", err)
	}
	heap.Push(&w.timers, timer{p.start.Add(w.s.timeout / 2), p})
	return nil
}

// udpRead reads one datagram or the pending socket error.
func (w *worker) udpRead(p *inflight) error {
	_, _, err := unix.Recvfrom(p.fd, w.buf, unix.MSG_DONTWAIT|unix.MSG_TRUNC)
	return err
}

func (w *worker) udpOutcome(p *inflight, err error) error {
	t := w.e.targets[p.i]
	rtt := time.Since(p.start)
	switch {
	case err == nil:
		w.finish(p, result{stateOpen, reasonReply, rtt}, false)
	case err == unix.EAGAIN || err == unix.EINTR:
		return nil
	case err == unix.ECONNREFUSED:
		w.finish(p, result{stateClosed, reasonUnreachable, rtt}, false)
	case localError(err):
		w.drop(p)
		return describe("scan", netip.AddrPortFrom(t.addr, t.port).String(), err)
	default: // host or network unreachable, administratively prohibited
		w.finish(p, result{stateFiltered, reasonOf(err).Error(), rtt}, false)
	}
	return nil
}

// answer handles an epoll event for p.
func (w *worker) answer(p *inflight) error {
	if w.s.opts.UDP {
		return w.udpOutcome(p, w.udpRead(p))
	}
	return w.tcpOutcome(p, w.outcome(p))
}

// expire ends the probes whose deadline has passed and resends UDP probes
// that are halfway there.
func (w *worker) expire(now time.Time) error {
	for len(w.timers) > 0 && !w.timers[0].when.After(now) {
		tm := heap.Pop(&w.timers).(timer)
		p := tm.p
		if p.done {
			continue
		}
		switch {
		case w.s.opts.UDP && !p.resent:
			p.resent = true
			if err := unix.Sendto(p.fd, nil, 0, nil); err != nil && err != unix.EAGAIN && err != unix.EINTR {
				if err := w.udpOutcome(p, err); err != nil {
					return err
				}
				continue
			}
			heap.Push(&w.timers, timer{p.deadline, p})
		case w.s.opts.UDP:
			w.finish(p, result{stateOpenFiltered, reasonNoReply, 0}, false)
		default:
			w.finish(p, result{stateFiltered, reasonTimeout, 0}, false)
		}
	}
	return nil
}

// timer is a deadline of a probe in flight.
type timer struct {
	when time.Time
	p    *inflight
}

// timerHeap orders timers by when (container/heap).
type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}

// waitFor probes the ports until every one is open on some address, or

// connect starts the connect(2) of p's socket to its target.
func (w *worker) connect(p *inflight) error {
	if w.e.fast {
		return p.connectRaw(p.fd)
	}
	return unix.Connect(p.fd, p.sa)
}

// outcome is the verdict on a connect in progress: nil when connected, the
// error that ended it, or EINPROGRESS while it lasts. The Linux form asks
// connect(2) again; elsewhere SO_ERROR tells an error, and a peer address
// tells a connection.
func (w *worker) outcome(p *inflight) error {
	if w.e.fast {
		return p.connectRaw(p.fd)
	}
	soerr, err := unix.GetsockoptInt(p.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	switch {
	case err != nil:
		return err
	case soerr != 0:
		return unix.Errno(soerr)
	}
	if _, err := unix.Getpeername(p.fd); err != nil {
		if err == unix.ENOTCONN {
			return unix.EINPROGRESS
		}
		return err
	}
	return nil
}

// setAddr stores t's address in p in the form connect takes: a raw
// socket address for the Linux form, a unix.Sockaddr otherwise.
func (p *inflight) setAddr(t probe, raw bool) {
	p.v6 = !t.addr.Is4()
	if !raw {
		p.sa = sockaddr(t.addr, t.zone, int(t.port))
		return
	}
	p.setRaw(t)
}
