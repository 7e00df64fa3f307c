// Package scan is the port scanner of `sockcat -z` (SPEC §8): a TCP connect
// scan, or a UDP probe, of a list of ports on one or more addresses, with
// the results printed in port order.
//
// Three engines probe the ports (see [Engine]): on Linux the socket engine
// (engine_unix.go) with epoll, reusing refused sockets and fixed source
// ports; on macOS and FreeBSD the same engine with poll(2) and a fresh
// socket per probe; on Windows a bounded pool of non-blocking dials through
// package net (engine_portable.go). Every engine of a platform produces the
// same results, and on Linux the test suite runs every scan test against
// all three.
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoOpenPorts is returned by [Run] when the scan found no open port.
var ErrNoOpenPorts = errors.New("no open ports")

const (
	// fdReserve is how many descriptors a scan leaves for stdio, the
	// resolver and the runtime when it fits Concurrency under the
	// open-file limit.
	fdReserve = 64
	// waitForInterval is the pause between two rounds of WaitFor.
	waitForInterval = 250 * time.Millisecond
	// waitForLogEvery spaces the verbose progress lines of WaitFor.
	waitForLogEvery = time.Second
	// selfConnectTries bounds how often a port whose probe connected to
	// itself is probed again before it is reported closed.
	selfConnectTries = 3
	// defaultTimeout is the per-probe timeout when Options.Timeout is 0.
	defaultTimeout = time.Second
	// defaultConcurrency is the number of probes in flight when
	// Options.Concurrency is 0.
	defaultConcurrency = 256
)

// Port states, as nmap names them.
const (
	stateOpen         = "open"
	stateClosed       = "closed"
	stateFiltered     = "filtered"
	stateOpenFiltered = "open|filtered" // UDP: no reply and no ICMP error
)

// Reasons given with a state (verbose output and JSON).
const (
	reasonConnected   = "connected"
	reasonRefused     = "refused"
	reasonTimeout     = "timeout"
	reasonSelf        = "self-connect, no listener"
	reasonReply       = "reply"
	reasonUnreachable = "connection refused" // the wording of connect mode (SPEC §4)
	reasonNoReply     = "no reply"
	reasonReset       = "reset after connect"
)

// Options is one scan.
type Options struct {
	Host        string        // as given: the "host" of JSON lines and of messages
	Addrs       []netip.Addr  // the resolved addresses of Host, in resolver order; IPv6 may carry a zone
	Ports       []uint16      // in the order they are printed
	UDP         bool          // a UDP probe instead of a TCP connect
	Timeout     time.Duration // per probe; 0 = one second
	Concurrency int           // probes in flight; 0 = 256
	Source      netip.Addr    // -s: the source address of every probe (invalid = any)
	SourcePort  int           // -p: the source port of every probe (0 = any)
	Verbose     bool          // closed and filtered ports on Stderr, with the reason; progress notes
	JSON        bool          // one JSON object per port on Stdout
	WaitFor     time.Duration // probe until every port is open or this has passed (0 = one pass)
	// Control, when set, is applied to every probe socket before it binds
	// or connects (socket options of the command line).
	Control func(network, address string, c syscall.RawConn) error
	// Engine picks the probing engine (tests and benchmarks); the default
	// is the fastest of this platform. An engine the platform lacks is
	// an error.
	Engine Engine
	Stdout io.Writer
	Stderr io.Writer
}

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

// indexed is a result and the index of its target.
type indexed struct {
	i int
	r result
}

// scanAddr is one address to scan, with its IPv6 zone resolved once.
type scanAddr struct {
	addr netip.Addr
	zone uint32
}

// scanner holds what every probe of one scan shares.
type scanner struct {
	opts    Options
	timeout time.Duration // per probe
	conc    int           // probes in flight
	addrs   []scanAddr
	engine  Engine
}

// Run scans opts.Ports of every address in opts.Addrs. Open ports go to
// Stdout in port order; Verbose adds the others on Stderr with the reason;
// JSON prints one object per port. It returns [ErrNoOpenPorts] when no port
// is open. With WaitFor it probes until every port is open or the time is
// up.
func Run(ctx context.Context, opts Options) error {
	s, err := newScanner(opts)
	if err != nil {
		return err
	}
	out := newOutput(&s.opts, len(s.addrs) > 1)
	if opts.WaitFor > 0 {
		return s.waitFor(ctx, out)
	}
	var targets []probe
	for ai, a := range s.addrs {
		for _, p := range opts.Ports {
			targets = append(targets, probe{addr: a.addr, zone: a.zone, port: p, ai: ai})
		}
	}
	err = s.run(ctx, targets, func(t probe, r result) error {
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

func newScanner(opts Options) (*scanner, error) {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Stderr == nil {
		opts.Stderr = io.Discard
	}
	if opts.Control == nil {
		opts.Control = func(string, string, syscall.RawConn) error { return nil }
	}
	opts.Source = opts.Source.Unmap()
	s := &scanner{opts: opts, timeout: opts.Timeout, engine: opts.Engine}
	if s.engine == EngineDefault {
		s.engine = testEngine
	}
	if s.engine != EngineDefault && !slices.Contains(Engines(), s.engine) {
		return nil, fmt.Errorf("scan: no %q engine on this platform", s.engine)
	}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	for _, a := range opts.Addrs {
		a = a.Unmap()
		zone, err := zoneIndex(a.Zone())
		if err != nil {
			return nil, fmt.Errorf("scan %s: zone %q: %w", a, a.Zone(), reasonOf(err))
		}
		s.addrs = append(s.addrs, scanAddr{a, zone})
	}
	if len(s.addrs) == 0 {
		return nil, fmt.Errorf("scan %s: no address to scan", opts.Host)
	}
	s.conc = s.concurrency()
	return s, nil
}

// logf prints a verbose note.
func (s *scanner) logf(format string, args ...any) {
	if s.opts.Verbose {
		fmt.Fprintf(s.opts.Stderr, "sockcat: "+format+"\n", args...)
	}
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

// concurrency is Options.Concurrency fitted under the open-file limit,
// whose soft value it first raises to the hard one if that is needed. Where
// there is no such limit (Windows) it is Concurrency.
func (s *scanner) concurrency() int {
	want := s.opts.Concurrency
	if want <= 0 {
		want = defaultConcurrency
	}
	cur, hard, err := fileLimit()
	if err != nil {
		return want
	}
	need := uint64(want) + fdReserve
	if cur < need && hard > cur {
		if err := raiseFileLimit(); err == nil {
			s.logf("raised the open-file limit from %d to %d", cur, hard)
			cur = hard
		}
	}
	if cur < need {
		avail := max(int(min(cur, 1<<30))-fdReserve, 1)
		s.logf("--concurrency %d reduced to %d by the open-file limit (%d)", want, avail, cur)
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
	results := make(chan []indexed, 64)
	errc := make(chan error, 1)
	go engineMain(ctx, cancel, s, targets, results, errc)

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
	for batch := range results {
		for _, ir := range batch {
			got[ir.i], have[ir.i] = ir.r, true
		}
		for first == nil && next < len(targets) && have[next] {
			fail(emit(targets[next], got[next]))
			next++
		}
		if flush != nil && first == nil && len(results) == 0 {
			fail(flush())
		}
	}
	fail(<-errc)
	if first != nil {
		return first
	}
	if next < len(targets) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return errors.New("scan: results missing") // an engine lost a probe: a bug
	}
	return nil
}

// workerCount is how many workers share conc probes over n targets.
func workerCount(conc, n int) int {
	return max(min(runtime.GOMAXPROCS(0), conc, n), 1)
}

// slotsOf is the share of conc probes of worker i of workers.
func slotsOf(conc, workers, i int) int {
	slots := conc / workers
	if i < conc%workers {
		slots++
	}
	return slots
}

// waitFor probes the ports until every one is open on some address, or
// WaitFor has passed. Each round probes only the ports not yet open. It
// prints the final state of every port as a plain scan does.
func (s *scanner) waitFor(ctx context.Context, out *output) error {
	limit := s.opts.WaitFor
	deadline := time.Now().Add(limit)
	timeout := s.timeout
	best := make(map[uint16]probeResult, len(s.opts.Ports))
	pending := s.opts.Ports
	var logged time.Time
	for round := 1; ; round++ {
		s.timeout = max(min(timeout, time.Until(deadline)), time.Millisecond)
		if err := s.round(ctx, pending, best); err != nil {
			return err
		}
		var still []uint16
		for _, p := range pending {
			if best[p].r.state != stateOpen {
				still = append(still, p)
			}
		}
		pending = still
		left := time.Until(deadline)
		if len(pending) == 0 || left <= 0 {
			break
		}
		if now := time.Now(); round == 1 || now.Sub(logged) >= waitForLogEvery {
			logged = now
			s.logf("waiting for %s (round %d, %v left)", s.describePending(pending, best), round, left.Round(time.Millisecond))
		}
		t := time.NewTimer(min(waitForInterval, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	for _, p := range s.opts.Ports {
		out.emit(best[p].t, best[p].r)
	}
	if err := out.flush(); err != nil && !errors.Is(err, errStdoutClosed) {
		return err
	}
	if len(pending) > 0 {
		return fmt.Errorf("wait for %s: %s not open after %v", s.opts.Host, portList(pending, s.opts.UDP), limit)
	}
	return nil
}

// round probes ports on every address once and keeps the best result of
// each port in best (open beats anything else).
func (s *scanner) round(ctx context.Context, ports []uint16, best map[uint16]probeResult) error {
	var targets []probe
	for _, p := range ports {
		for ai, a := range s.addrs {
			targets = append(targets, probe{addr: a.addr, zone: a.zone, port: p, ai: ai})
		}
	}
	return s.run(ctx, targets, func(t probe, r result) error {
		old, seen := best[t.port]
		if !seen || (r.state == stateOpen && old.r.state != stateOpen) {
			best[t.port] = probeResult{t, r}
		}
		return nil
	}, nil)
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
		parts = append(parts, fmt.Sprintf("%d/%s %s (%s)", p, protoName(s.opts.UDP), r.state, r.reason))
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

// bindAddr is the local address to bind for a target: Source, or the
// wildcard of the target's family.
func (s *scanner) bindAddr(target netip.Addr) netip.Addr {
	switch {
	case s.opts.Source.IsValid():
		return s.opts.Source
	case target.Is4():
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// describe is the one-line form "OP ADDR: REASON" of a local error that
// ends the scan.
func describe(op, addr string, err error) error {
	return fmt.Errorf("%s %s: %w", op, addr, reasonOf(err))
}

// reasonOf is the innermost useful error of err: the errno under the
// *net.OpError and *os.SyscallError layers, whose text repeats the address
// and the system call.
func reasonOf(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errTimedOut
	}
	return err
}

// errTimedOut is the reason shown for a deadline that ran out.
var errTimedOut = errors.New("timed out")
