// Package portmap opens a listener's port on the router: NAT-PMP (RFC 6886),
// PCP (RFC 6887) and UPnP IGD v1/v2 on the default gateway, tried together;
// the first mapping granted is kept, renewed at half its lifetime and
// deleted on Close. [Probe] only asks which methods the gateway answers.
//
// The PCP and NAT-PMP message codecs (pcp.go, natpmp.go) do no I/O; the
// NAT-PMP client is github.com/jackpal/go-nat-pmp and the UPnP client
// github.com/huin/goupnp.
package portmap

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of SPEC §14.
const (
	DefaultLease   = time.Hour
	DefaultTimeout = 3 * time.Second
)

// Options say what to map and where.
type Options struct {
	Proto   string        // "tcp" or "udp"
	Port    uint16        // the listener's port
	Bound   netip.Addr    // the listener's address; invalid or unspecified: any
	Lease   time.Duration // lifetime asked for; 0: DefaultLease
	Timeout time.Duration // how long the methods get together; 0: DefaultTimeout
	// Gateway and Local override the default route (tests).
	Gateway, Local netip.Addr
	ServerPort     uint16   // PCP's port on the gateway; 0: 5351 (NAT-PMP always uses 5351)
	Methods        []string // subset of Methods to try; nil: all
	// OnRenewError is called, from the renewal goroutine, when a renewal
	// fails; nil: ignored.
	OnRenewError func(error)
	// OnRenew is called, from the renewal goroutine, after each renewal
	// with the lifetime granted; nil: ignored.
	OnRenew func(time.Duration)
}

// Answer is one method's reply when nothing was granted.
type Answer struct {
	Method string
	Err    error
}

// Failure is Map's error when no method granted a mapping: the gateway
// and each method's answer.
type Failure struct {
	Gateway netip.Addr
	Err     error    // no gateway or no local address; Answers is then empty
	Answers []Answer // in the order of Methods
}

func (f *Failure) Error() string {
	if f.Err != nil {
		return "no port mapping: " + f.Err.Error()
	}
	parts := make([]string, len(f.Answers))
	for i, a := range f.Answers {
		parts[i] = a.Method + ": " + a.Err.Error()
	}
	return fmt.Sprintf("no port mapping granted by gateway %s (%s)", f.Gateway, strings.Join(parts, "; "))
}

// Mapping is a granted mapping, kept alive until Close.
type Mapping struct {
	Method       string
	Gateway      netip.Addr
	ExternalIP   netip.Addr
	ExternalPort uint16
	Lease        time.Duration // as granted; 0: permanent

	m        mapper
	extra    []late // grants of the other methods, deleted with the mapping
	g        grant
	lease    time.Duration // asked for
	onErr    func(error)
	onRenew  func(time.Duration)
	stop     chan struct{}
	wg       sync.WaitGroup // the renewal and the late answers
	mu       sync.Mutex     // guards g against the renewal
	closeErr error
	once     sync.Once
}

// late is a grant that came after the first.
type late struct {
	m mapper
	g grant
}

// External is EXTERNAL_IP:PORT.
func (mp *Mapping) External() netip.AddrPort {
	return netip.AddrPortFrom(mp.ExternalIP, mp.ExternalPort)
}

// target resolves the gateway and the local address of o.
func (o *Options) target() (target, error) {
	t := target{proto: o.Proto, port: o.Port, gateway: o.Gateway, local: o.Local, serverPort: o.ServerPort}
	if t.serverPort == 0 {
		t.serverPort = ServerPort
	}
	if t.proto != "tcp" && t.proto != "udp" {
		return t, fmt.Errorf("protocol %q: want tcp or udp", o.Proto)
	}
	var err error
	switch {
	case !t.gateway.IsValid():
		t.gateway, t.local, err = FindGateway(o.Bound)
	case !t.local.IsValid():
		t.local, err = localAddrTo(t.gateway)
	}
	return t, err
}

// wants reports whether method is in methods (nil: every method).
func (o *Options) wants(methods []string, method string) bool {
	return methods == nil || slices.Contains(methods, method)
}

func (o *Options) mappers(t target) []mapper {
	want := func(m string) bool { return o.wants(o.Methods, m) }
	var ms []mapper
	if want(MethodNATPMP) {
		ms = append(ms, &natpmpMapper{t: t})
	}
	if want(MethodPCP) {
		ms = append(ms, newPCPMapper(t))
	}
	if want(MethodUPnP) {
		ms = append(ms, &upnpMapper{t: t})
	}
	return ms
}

// result is one method's answer to the first request.
type result struct {
	i   int
	g   grant
	err error
}

// Map asks every method at once and keeps the first mapping granted. It
// returns a *Failure when none is granted within the timeout. The mapping
// is renewed until Close.
func Map(ctx context.Context, o Options) (*Mapping, error) {
	t, err := o.target()
	if err != nil {
		return nil, &Failure{Gateway: t.gateway, Err: err}
	}
	lease, timeout := o.Lease, o.Timeout
	if lease <= 0 {
		lease = DefaultLease
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ms := o.mappers(t)
	actx, cancel := context.WithTimeout(ctx, timeout)
	results := make(chan result, len(ms))
	var asks sync.WaitGroup
	for i, m := range ms {
		asks.Add(1)
		go ask(actx, &asks, i, m, lease, results)
	}
	answers := make([]Answer, len(ms))
	for range ms {
		r := <-results
		if r.err == nil {
			mp := newMapping(ms[r.i], t.gateway, r.g, lease, o.OnRenewError)
			mp.onRenew = o.OnRenew
			mp.wg.Add(2)
			go mp.reapLate(ctx, &asks, cancel, ms, results, len(ms)-1-countAnswered(answers))
			go mp.renew()
			return mp, nil
		}
		answers[r.i] = Answer{Method: ms[r.i].name(), Err: r.err}
	}
	cancel()
	asks.Wait()
	if ctx.Err() != nil {
		withdraw(ms)
	}
	return nil, &Failure{Gateway: t.gateway, Answers: answers}
}

// withdraw deletes, through every method, what the router may have granted
// to requests whose answers were not awaited (Map was cancelled, e.g. by
// SIGINT, mid-request). Errors are expected: usually nothing was granted.
func withdraw(ms []mapper) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		go removeGuess(ctx, &wg, m)
	}
	wg.Wait()
}

// removeGuess deletes the mapping m would have got at the listener's own
// port (UPnP only when its gateway was found).
func removeGuess(ctx context.Context, wg *sync.WaitGroup, m mapper) {
	defer wg.Done()
	switch m := m.(type) {
	case *upnpMapper:
		if m.gw != nil {
			m.remove(ctx, grant{port: m.t.port})
		}
	case *pcpMapper:
		m.remove(ctx, grant{port: m.t.port})
	case *natpmpMapper:
		m.remove(ctx, grant{})
	}
}

func countAnswered(a []Answer) int {
	n := 0
	for _, x := range a {
		if x.Method != "" {
			n++
		}
	}
	return n
}

// ask is one method's first request.
func ask(ctx context.Context, wg *sync.WaitGroup, i int, m mapper, lease time.Duration, out chan<- result) {
	defer wg.Done()
	g, err := m.add(ctx, 0, lease)
	out <- result{i: i, g: g, err: err}
}

func newMapping(m mapper, gw netip.Addr, g grant, lease time.Duration, onErr func(error)) *Mapping {
	return &Mapping{Method: m.name(), Gateway: gw, ExternalIP: g.ip, ExternalPort: g.port, Lease: g.life,
		m: m, g: g, lease: lease, onErr: onErr, stop: make(chan struct{})}
}

// reapLate waits for the methods still asking after the first grant. A
// late grant of another external port is deleted at once; one of the same
// port is kept (the router may hold one entry per method for it) and
// deleted by Close, after the kept mapping. The others are not cancelled at the first
// grant, so that no request is granted after its client gave up; when ctx
// ends first (sockcat is exiting), the unanswered ones are withdrawn.
func (mp *Mapping) reapLate(ctx context.Context, asks *sync.WaitGroup, cancel context.CancelFunc, ms []mapper, results <-chan result, pending int) {
	defer mp.wg.Done()
	asks.Wait()
	cancel()
	var failed []mapper
	for range pending {
		r := <-results
		if r.err != nil {
			failed = append(failed, ms[r.i])
			continue
		}
		// Another entry, of no use: delete it now. Not a NAT-PMP one: its
		// deletion names only the internal port (RFC 6886 §3.4), which the
		// kept mapping shares; Close deletes it after the kept one.
		if _, natpmp := ms[r.i].(*natpmpMapper); r.g.port != mp.ExternalPort && !natpmp {
			dctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
			_ = ms[r.i].remove(dctx, r.g)
			cancel()
			continue
		}
		mp.mu.Lock()
		mp.extra = append(mp.extra, late{ms[r.i], r.g})
		mp.mu.Unlock()
	}
	if ctx.Err() != nil && len(failed) > 0 {
		withdraw(failed)
	}
}

// renew asks for the mapping again at half its lifetime until Close. A
// failed renewal is reported and retried at half the time left.
func (mp *Mapping) renew() {
	defer mp.wg.Done()
	if mp.Lease == 0 {
		return // permanent
	}
	next, expires := mp.Lease/2, time.Now().Add(mp.Lease)
	for {
		t := time.NewTimer(max(next, 500*time.Millisecond))
		select {
		case <-mp.stop:
			t.Stop()
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		mp.mu.Lock()
		g, err := mp.m.add(ctx, mp.g.port, mp.lease)
		if err == nil {
			mp.g = g
		}
		mp.mu.Unlock()
		cancel()
		if err != nil {
			if mp.onErr != nil {
				mp.onErr(fmt.Errorf("renewing the %s mapping: %w", mp.Method, err))
			}
			next = time.Until(expires) / 2
			continue
		}
		if mp.onRenew != nil {
			mp.onRenew(g.life)
		}
		next, expires = g.life/2, time.Now().Add(g.life)
		if g.life == 0 {
			return
		}
	}
}

// Close stops the renewal, waits for the methods still asking, and deletes
// the mapping and every late grant. It may be called more than once; later
// calls return the first result. Only the kept mapping's deletion error is
// returned: a late grant of the same entry is usually gone with it.
func (mp *Mapping) Close() error {
	mp.once.Do(func() {
		close(mp.stop)
		mp.wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		if err := mp.m.remove(ctx, mp.g); err != nil {
			mp.closeErr = fmt.Errorf("deleting the %s mapping %s: %w", mp.Method, mp.External(), err)
		}
		for _, x := range mp.extra {
			_ = x.m.remove(ctx, x.g)
		}
	})
	return mp.closeErr
}

// DoubleNAT says why a mapping at external does not make this host
// reachable: the router's external address is private or CGNAT, or differs
// from public (the address STUN reports; invalid: unknown). "" when
// nothing is wrong.
func DoubleNAT(external, public netip.Addr) string {
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	switch {
	case external.IsPrivate() || external.IsLoopback() || external.IsLinkLocalUnicast():
		return fmt.Sprintf("the router's external address %s is private", external)
	case cgnat.Contains(external):
		return fmt.Sprintf("the router's external address %s is carrier-grade NAT (100.64.0.0/10)", external)
	case public.IsValid() && public.Unmap() != external.Unmap():
		return fmt.Sprintf("the router's external address %s is not this host's public address %s", external, public)
	}
	return ""
}
