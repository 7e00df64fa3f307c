package modes

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The scan engine talks to the kernel directly (non-blocking sockets and one
// epoll set per worker, one worker per CPU) rather than through net.Dialer:
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

const (
	// scanFDReserve is how many descriptors a scan leaves for stdio, the
	// resolver and the runtime when it fits --concurrency under
	// RLIMIT_NOFILE.
	scanFDReserve = 64
	// waitForInterval is the pause between two rounds of --wait-for.
	waitForInterval = 250 * time.Millisecond
	// waitForLogEvery spaces the -v progress lines of --wait-for.
	waitForLogEvery = time.Second
	// selfConnectTries bounds how often a port whose probe connected to
	// itself is probed again before it is reported closed.
	selfConnectTries = 3
)

// Port states, as nmap names them.
const (
	stateOpen         = "open"
	stateClosed       = "closed"
	stateFiltered     = "filtered"
	stateOpenFiltered = "open|filtered" // UDP: no reply and no ICMP error
)

// Reasons given with a state (-v, --json).
const (
	reasonConnected   = "connected"
	reasonRefused     = "refused"
	reasonTimeout     = "timeout"
	reasonSelf        = "self-connect, no listener"
	reasonReply       = "reply"
	reasonUnreachable = "port unreachable"
	reasonNoReply     = "no reply"
)

// probe is one address and port to test.
type probe struct {
	addr netip.Addr
	zone uint32 // IPv6 scope id of addr's zone (0 = none)
	port uint16
	ai   int // index of addr in scanner.addrs
}

// result is what a probe found.
type result struct {
	state  string
	reason string
	rtt    time.Duration // time until the answer; 0 when none came
}

// Scan probes HOST over the ports of the PORTSPEC (SPEC §8): a TCP connect
// scan, or a UDP probe with -u, of every resolved address (or the one family
// -4/-6 picks). Open ports go to stdout in port order; -v adds the others on
// stderr with the reason; --json prints one object per port. It returns
// [ErrNoOpenPorts] when no port is open. With --wait-for it probes until
// every port is open or the time is up.
func Scan(ctx context.Context, cfg *Config, stdio Stdio) error {
	s, err := newScanner(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	return s.scan(ctx)
}

// scan runs the scan of every address of s.
func (s *scanner) scan(ctx context.Context) error {
	cfg := s.cfg
	out := newScanOutput(cfg, s.stdio, len(s.addrs) > 1)
	if cfg.ScanOp.WaitFor > 0 {
		return s.waitFor(ctx, out)
	}
	var targets []probe
	for ai, a := range s.addrs {
		for _, p := range cfg.Ports {
			targets = append(targets, probe{addr: a.addr, zone: a.zone, port: p, ai: ai})
		}
	}
	err := s.run(ctx, targets, func(t probe, r result) error {
		out.emit(t, r)
		return nil
	}, out.flush)
	if ferr := out.flush(); err == nil {
		err = ferr
	}
	if errors.Is(err, errStdoutClosed) {
		return nil // the reader has seen enough (`sockcat -z … | head -1`)
	}
	if err != nil {
		return err
	}
	if out.open == 0 {
		return ErrNoOpenPorts
	}
	return nil
}

// scanAddr is one address to scan, with its IPv6 zone resolved once.
type scanAddr struct {
	addr netip.Addr
	zone uint32
}

// scanner holds what every probe of one scan shares.
type scanner struct {
	cfg     *Config
	stdio   Stdio
	udp     bool
	timeout time.Duration // per probe
	conc    int           // probes in flight
	addrs   []scanAddr
	source  netip.Addr // -s (invalid = any)
	control func(network, address string, c syscall.RawConn) error
}

func newScanner(ctx context.Context, cfg *Config, stdio Stdio) (*scanner, error) {
	s := &scanner{
		cfg:     cfg,
		stdio:   stdio,
		udp:     cfg.UDP,
		timeout: cfg.Net.Timeout,
		control: control(cfg),
	}
	if s.timeout <= 0 {
		s.timeout = DefaultScanTimeout
	}
	if cfg.Net.Source != "" {
		a, err := netip.ParseAddr(cfg.Net.Source)
		if err != nil {
			return nil, fmt.Errorf("source address %q: not an IP address", cfg.Net.Source)
		}
		s.source = a.Unmap()
	}
	addrs, err := lookup(ctx, cfg, cfg.Host)
	if err != nil {
		return nil, describe("scan", cfg.Host, err)
	}
	for _, a := range addrs {
		if s.source.IsValid() && s.source.Is4() != a.Is4() {
			logf(cfg, stdio, "skipping %s: source address %s is of the other family", a, s.source)
			continue
		}
		zone, err := zoneIndex(a.Zone())
		if err != nil {
			return nil, describe("scan", a.String(), err)
		}
		s.addrs = append(s.addrs, scanAddr{a, zone})
	}
	if len(s.addrs) == 0 {
		return nil, fmt.Errorf("scan %s: no address of the family of source address %s", cfg.Host, s.source)
	}
	s.conc = scanConcurrency(cfg, stdio)
	return s, nil
}

// zoneIndex is the interface index of an IPv6 zone ("eth0" or "2").
func zoneIndex(zone string) (uint32, error) {
	if zone == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, err
	}
	return uint32(ifi.Index), nil
}

// getrlimit and setrlimit are replaced by tests, which must not lower the
// limit of the whole test process.
var (
	getrlimit = unix.Getrlimit
	setrlimit = unix.Setrlimit
)

// scanConcurrency is --concurrency fitted under the open-file limit, whose
// soft value it first raises to the hard one if that is needed.
func scanConcurrency(cfg *Config, stdio Stdio) int {
	want := cfg.ScanOp.Concurrency
	if want <= 0 {
		want = DefaultConcurrency
	}
	var rl unix.Rlimit
	if err := getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return want
	}
	need := uint64(want) + scanFDReserve
	if rl.Cur < need && rl.Max > rl.Cur {
		raised := rl
		raised.Cur = rl.Max
		if err := setrlimit(unix.RLIMIT_NOFILE, &raised); err == nil {
			logf(cfg, stdio, "raised the open-file limit from %d to %d", rl.Cur, raised.Cur)
			rl = raised
		}
	}
	if rl.Cur < need {
		avail := max(int(rl.Cur)-scanFDReserve, 1)
		logf(cfg, stdio, "--concurrency %d reduced to %d by the open-file limit (%d)", want, avail, rl.Cur)
		return avail
	}
	return want
}

// run probes every target with up to s.conc probes in flight and calls emit
// with each result in the order of targets, from the calling goroutine.
// flush, if not nil, is called whenever emit has caught up with the probes,
// so output streams in batches. run returns the first error of emit, of
// flush or of the engine, or ctx.Err().
func (s *scanner) run(ctx context.Context, targets []probe, emit func(probe, result) error, flush func() error) error {
	if len(targets) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	workers := min(runtime.GOMAXPROCS(0), s.conc, len(targets))
	conc := min(s.conc, len(targets))
	e := &engine{s: s, targets: targets, results: make(chan []indexed, 64)}
	if err := e.openWake(ctx); err != nil {
		return err
	}
	defer e.closeWake()

	homes := s.homePorts(e, workers)
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for i := range workers {
		slots := conc / workers
		if i < conc%workers {
			slots++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.work(slots, homes[i]); err != nil {
				errc <- err
				cancel()
			}
		}()
	}
	go func() {
		wg.Wait()
		close(e.results)
	}()

	// Reorder: results arrive as probes finish; emit them in target order.
	got := make([]result, len(targets))
	have := make([]bool, len(targets))
	next := 0
	var first error
	fail := func(err error) {
		if first == nil && err != nil {
			first = err
			cancel()
		}
	}
	for batch := range e.results {
		for _, ir := range batch {
			got[ir.i], have[ir.i] = ir.r, true
		}
		for first == nil && next < len(targets) && have[next] {
			fail(emit(targets[next], got[next]))
			next++
		}
		if flush != nil && first == nil && len(e.results) == 0 {
			fail(flush())
		}
	}
	select {
	case err := <-errc:
		fail(err)
	default:
	}
	if first != nil {
		return first
	}
	if next < len(targets) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("scan: results missing") // a worker lost a probe: a bug
	}
	return nil
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
		if s.udp {
			continue
		}
		for ai, a := range s.addrs {
			if s.cfg.Net.SourcePort != 0 {
				homes[i][ai] = home{s.bindAddr(a.addr), s.cfg.Net.SourcePort}
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

// indexed is a result and the index of its target.
type indexed struct {
	i int
	r result
}

// engine is the state the workers of one run share.
type engine struct {
	s       *scanner
	targets []probe
	next    atomic.Int64   // index of the next target to start
	stop    atomic.Bool    // ctx is done: start nothing more
	results chan []indexed // batches of results, one worker's each
	homes   []uint64       // bitmap of the workers' home ports; read-only once workers run

	// wake is an eventfd in every worker's epoll set; cancellation makes it
	// readable so that workers blocked in epoll_wait return.
	wakeMu     sync.Mutex
	wake       int
	wakeClosed bool
	stopWake   func() bool
}

func (e *engine) openWake(ctx context.Context) error {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("scan: eventfd: %w", err)
	}
	e.wake = fd
	e.stopWake = context.AfterFunc(ctx, func() {
		e.stop.Store(true)
		e.wakeMu.Lock()
		defer e.wakeMu.Unlock()
		if !e.wakeClosed {
			var one [8]byte
			one[0] = 1 // host byte order on little-endian machines; any non-zero value wakes
			unix.Write(e.wake, one[:])
		}
	})
	return nil
}

func (e *engine) closeWake() {
	e.stopWake()
	e.wakeMu.Lock()
	defer e.wakeMu.Unlock()
	e.wakeClosed = true
	unix.Close(e.wake)
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
	raw4     unix.RawSockaddrInet4 // the target, as connect(2) takes it
	raw6     unix.RawSockaddrInet6
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
	ep     int
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
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("scan: epoll: %w", err)
	}
	w := &worker{e: e, s: e.s, ep: ep, live: make(map[int]*inflight, slots), spare: make([]int, len(homes)),
		home: homes, buf: make([]byte, 1), batch: make([]indexed, 0, resultBatch)}
	for i := range w.spare {
		w.spare[i] = -1
	}
	defer w.close()
	defer w.send()
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, e.wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(e.wake)}); err != nil {
		return fmt.Errorf("scan: epoll: %w", err)
	}
	events := make([]unix.EpollEvent, min(slots, 256)+1)
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
		n, err := unix.EpollWait(ep, events, wait)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("scan: epoll_wait: %w", err)
		}
		for _, ev := range events[:max(n, 0)] {
			fd := int(ev.Fd)
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
	unix.Close(w.ep)
}

// finish records p's result and releases its slot. keep says the socket
// may serve the next TCP probe of the same address (a refused connect).
func (w *worker) finish(p *inflight, r result, keep bool) {
	p.done = true
	if _, ok := w.live[p.fd]; ok {
		delete(w.live, p.fd)
		if keep {
			unix.EpollCtl(w.ep, unix.EPOLL_CTL_DEL, p.fd, nil)
		}
	}
	ai := w.e.targets[p.i].ai
	if keep && p.reuse && w.spare[ai] < 0 {
		w.spare[ai] = p.fd
	} else {
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

// resultBatch is how many results a worker collects before sending them.
const resultBatch = 256

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
	fd, err := unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, describe("scan: socket for", t.addr.String(), err)
	}
	if err := w.s.control(nw, netip.AddrPortFrom(t.addr, t.port).String(), rawFD(fd)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("scan: socket options: %w", reason(err))
	}
	if w.s.source.IsValid() || h.port != 0 {
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
func (s *scanner) bindAddr(target netip.Addr) netip.Addr {
	switch {
	case s.source.IsValid():
		return s.source
	case target.Is4():
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// pickHome finds the source address the kernel would use for target (or
// -s) and a free port on it.
func (s *scanner) pickHome(target scanAddr) (home, bool) {
	domain := unix.AF_INET
	if !target.addr.Is4() {
		domain = unix.AF_INET6
	}
	src := s.source
	if !src.IsValid() {
		// A connected UDP socket learns the route's source address
		// without sending anything.
		fd, err := unix.Socket(domain, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
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
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
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

// setAddr stores t's address in p in the kernel's form.
func (p *inflight) setAddr(t probe) {
	p.v6 = !t.addr.Is4()
	if !p.v6 {
		p.raw4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: t.addr.As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&p.raw4.Port))[:], t.port)
	} else {
		p.raw6 = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: t.addr.As16(), Scope_id: t.zone}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&p.raw6.Port))[:], t.port)
	}
}

// connect is connect(2) of fd to p's target. It does not tell the Go
// scheduler about the call (RawSyscall): the socket is non-blocking, so the
// call returns within microseconds, while entering a system call the
// scheduler may wait on (unix.Connect) once per port lets the runtime hand
// the thread's P around, which on loopback costs more than the connect.
func (p *inflight) connect(fd int) error {
	ptr, n := unsafe.Pointer(&p.raw4), unsafe.Sizeof(p.raw4)
	if p.v6 {
		ptr, n = unsafe.Pointer(&p.raw6), unsafe.Sizeof(p.raw6)
	}
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(ptr), n)
	if e != 0 {
		return e
	}
	return nil
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
	p.setAddr(t)
	p.deadline = p.start.Add(w.s.timeout)
	if w.s.udp {
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
			if h.port == 0 || w.s.cfg.Net.SourcePort != 0 {
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
	err := p.connect(fd)
	if err == unix.EINPROGRESS {
		err = p.connect(fd) // the outcome, if it is in already (loopback)
	}
	if err == unix.EADDRNOTAVAIL && h.port != 0 && w.s.cfg.Net.SourcePort == 0 {
		// This source port and target are still in TIME_WAIT from an
		// earlier connection: use a port the kernel picks.
		unix.Close(fd)
		if fd, err = w.socket(t, unix.SOCK_STREAM, home{}); err != nil {
			return err
		}
		p.fd, p.reuse = fd, false
		if err = p.connect(fd); err == unix.EINPROGRESS {
			err = p.connect(fd)
		}
	}
	if err == unix.EINPROGRESS || err == unix.EALREADY || err == unix.EINTR {
		if p == &w.scratch {
			p = p.onHeap()
		}
		w.live[fd] = p
		if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLOUT, Fd: int32(fd)}); err != nil {
			delete(w.live, fd)
			unix.Close(fd)
			return fmt.Errorf("scan: epoll: %w", err)
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
		again.setAddr(t)
		return w.startTCP(again, t)
	case err == unix.EINPROGRESS || err == unix.EALREADY || err == unix.EINTR:
		return nil // spurious wake-up: keep waiting
	case err == unix.ECONNREFUSED:
		w.finish(p, result{stateClosed, reasonRefused, rtt}, true)
	case err == unix.ECONNRESET:
		// Reset after the handshake completed: something accepted.
		w.finish(p, result{stateOpen, "reset after connect", rtt}, false)
	case err == unix.ETIMEDOUT:
		w.finish(p, result{stateFiltered, reasonTimeout, 0}, false)
	case localError(err):
		w.drop(p)
		return describe("scan", netip.AddrPortFrom(t.addr, t.port).String(), err)
	default: // unreachable, prohibited: an ICMP error or a local firewall
		w.finish(p, result{stateFiltered, reason(err).Error(), rtt}, false)
	}
	return nil
}

// drop closes p's socket without a result (it is probed again, or the scan
// ends).
func (w *worker) drop(p *inflight) {
	p.done = true
	delete(w.live, p.fd)
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
	fd, err := w.socket(t, unix.SOCK_DGRAM, home{port: w.s.cfg.Net.SourcePort})
	if err != nil {
		return err
	}
	p.fd = fd
	err = p.connect(fd)
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
	if err := unix.EpollCtl(w.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
		w.drop(p)
		return fmt.Errorf("scan: epoll: %w", err)
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
		w.finish(p, result{stateFiltered, reason(err).Error(), rtt}, false)
	}
	return nil
}

// answer handles an epoll event for p.
func (w *worker) answer(p *inflight) error {
	if w.s.udp {
		return w.udpOutcome(p, w.udpRead(p))
	}
	return w.tcpOutcome(p, p.connect(p.fd))
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
		case w.s.udp && !p.resent:
			p.resent = true
			if err := unix.Sendto(p.fd, nil, 0, nil); err != nil && err != unix.EAGAIN && err != unix.EINTR {
				if err := w.udpOutcome(p, err); err != nil {
					return err
				}
				continue
			}
			heap.Push(&w.timers, timer{p.deadline, p})
		case w.s.udp:
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
// --wait-for has passed. Each round probes only the ports not yet open. It
// prints the final state of every port as a plain scan does.
func (s *scanner) waitFor(ctx context.Context, out *scanOutput) error {
	cfg := s.cfg
	limit := cfg.ScanOp.WaitFor
	deadline := time.Now().Add(limit)
	timeout := s.timeout
	best := make(map[uint16]probeResult, len(cfg.Ports))
	pending := cfg.Ports
	var logged time.Time
	for round := 1; ; round++ {
		left := time.Until(deadline)
		s.timeout = max(min(timeout, left), time.Millisecond)
		var targets []probe
		for _, p := range pending {
			for ai, a := range s.addrs {
				targets = append(targets, probe{addr: a.addr, zone: a.zone, port: p, ai: ai})
			}
		}
		err := s.run(ctx, targets, func(t probe, r result) error {
			old, seen := best[t.port]
			if !seen || (r.state == stateOpen && old.r.state != stateOpen) {
				best[t.port] = probeResult{t, r}
			}
			return nil
		}, nil)
		if err != nil {
			return err
		}
		var still []uint16
		for _, p := range pending {
			if best[p].r.state != stateOpen {
				still = append(still, p)
			}
		}
		pending = still
		left = time.Until(deadline)
		if len(pending) == 0 || left <= 0 {
			break
		}
		if now := time.Now(); round == 1 || now.Sub(logged) >= waitForLogEvery {
			logged = now
			logf(cfg, s.stdio, "waiting for %s (round %d, %v left)", s.describePending(pending, best), round, left.Round(time.Millisecond))
		}
		t := time.NewTimer(min(waitForInterval, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	for _, p := range cfg.Ports {
		out.emit(best[p].t, best[p].r)
	}
	if err := out.flush(); err != nil && !errors.Is(err, errStdoutClosed) {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("wait for %s: %s not open after %v", cfg.Host, portList(pending, s.udp), limit)
	}
	return nil
}

// probeResult pairs a probe and its result.
type probeResult struct {
	t probe
	r result
}

// describePending names the ports still waited for and why (at most a few).
func (s *scanner) describePending(ports []uint16, best map[uint16]probeResult) string {
	const show = 4
	var parts []string
	for i, p := range ports {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(ports)-show))
			break
		}
		r := best[p].r
		parts = append(parts, fmt.Sprintf("%d/%s %s (%s)", p, protoName(s.udp), r.state, r.reason))
	}
	return strings.Join(parts, ", ")
}

// portList prints ports as "80/tcp", "80/tcp, 443/tcp" or "80/tcp and 9 more".
func portList(ports []uint16, udp bool) string {
	const show = 4
	var parts []string
	for i, p := range ports {
		if i == show {
			return strings.Join(parts, ", ") + fmt.Sprintf(" and %d more", len(ports)-show)
		}
		parts = append(parts, fmt.Sprintf("%d/%s", p, protoName(udp)))
	}
	return strings.Join(parts, ", ")
}

func protoName(udp bool) string {
	if udp {
		return "udp"
	}
	return "tcp"
}

// errStdoutClosed marks a write to a stdout whose reader has gone.
var errStdoutClosed = errors.New("stdout closed")

// scanOutput prints results: open ports on stdout (UDP: open and
// open|filtered), the rest on stderr under -v, or JSON lines on stdout.
type scanOutput struct {
	cfg   *Config
	multi bool // more than one address: lines start with the address
	out   *bufio.Writer
	err   *bufio.Writer
	json  *json.Encoder
	open  int
}

func newScanOutput(cfg *Config, stdio Stdio, multi bool) *scanOutput {
	o := &scanOutput{cfg: cfg, multi: multi, out: bufio.NewWriter(stdio.Out), err: bufio.NewWriter(stdio.Err)}
	if cfg.ScanOp.JSON {
		o.json = json.NewEncoder(o.out)
	}
	return o
}

// scanJSON is the --json form of one port. Every field is always present;
// service and rtt_ms are null when unknown.
type scanJSON struct {
	Host    string   `json:"host"`
	Address string   `json:"address"`
	Port    uint16   `json:"port"`
	Proto   string   `json:"proto"`
	State   string   `json:"state"`
	Service *string  `json:"service"`
	Reason  string   `json:"reason"`
	RTTms   *float64 `json:"rtt_ms"`
}

// emit prints one result. Write errors surface at flush.
func (o *scanOutput) emit(t probe, r result) {
	if r.state == stateOpen {
		o.open++
	}
	shown := r.state == stateOpen || r.state == stateOpenFiltered
	if o.json == nil && !shown && !o.cfg.Verbose {
		return // the common case of a big scan: a closed port, nothing to say
	}
	proto := protoName(o.cfg.UDP)
	svc := serviceName(t.port, proto)
	if o.json != nil {
		j := scanJSON{Host: o.cfg.Host, Address: t.addr.String(), Port: t.port, Proto: proto, State: r.state, Reason: r.reason}
		if svc != "" {
			j.Service = &svc
		}
		if r.rtt > 0 {
			ms := math.Round(float64(r.rtt)/float64(time.Microsecond)) / 1000
			j.RTTms = &ms
		}
		o.json.Encode(j)
	}
	var b strings.Builder
	if o.multi {
		b.WriteString(t.addr.String())
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%d/%s %s", t.port, proto, r.state)
	if svc != "" {
		b.WriteString(" " + svc)
	}
	switch {
	case shown && o.json == nil:
		b.WriteByte('\n')
		o.out.WriteString(b.String())
	case !shown && o.cfg.Verbose:
		fmt.Fprintf(o.err, "sockcat: %s (%s)\n", b.String(), r.reason)
	}
}

// flush writes what emit buffered. A stdout whose reader has gone is
// reported as errStdoutClosed.
func (o *scanOutput) flush() error {
	o.err.Flush()
	if err := o.out.Flush(); err != nil {
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) {
			return errStdoutClosed
		}
		return fmt.Errorf("write stdout: %w", reason(err))
	}
	return nil
}

// servicesPath is the system's services database (services(5)).
var servicesPath = "/etc/services"

// services maps "port/proto" to the first name the database gives it.
var services = sync.OnceValue(func() map[string]string {
	f, err := os.Open(servicesPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseServices(f)
})

// serviceName is the service name of port/proto, or "" when unknown.
func serviceName(port uint16, proto string) string {
	return services()[strconv.Itoa(int(port))+"/"+proto]
}

// parseServices reads services(5): "name port/proto [aliases…] [# comment]".
// The first name given to a port wins, as in getservbyport(3).
func parseServices(r io.Reader) map[string]string {
	m := make(map[string]string)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(f[1], "/")
		n, err := strconv.Atoi(port)
		if !ok || err != nil || n < 1 || n > 65535 || !allDigits(port) {
			continue
		}
		key := strconv.Itoa(n) + "/" + strings.ToLower(proto)
		if _, dup := m[key]; !dup {
			m[key] = f[0]
		}
	}
	return m
}
