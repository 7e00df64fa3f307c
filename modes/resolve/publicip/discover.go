package publicip

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/sockcat/sockcat/modes/resolve/netinfo"
)

// Default timings. Each is a field of [Timing] so tests can shrink it.
const (
	// DefaultRTO is the first STUN retransmit interval; it doubles after
	// each send. libwebrtc uses 250 ms; RFC 5389 §7.2.1 suggests 500 ms
	// for unknown paths, which would leave a 3 s deadline only 3 tries.
	DefaultRTO = 250 * time.Millisecond
	// DefaultDNSDelay is when DNS whoami starts, after STUN.
	DefaultDNSDelay = 300 * time.Millisecond
	// DefaultHTTPDelay is when HTTPS echo starts, the slowest method.
	DefaultHTTPDelay = 800 * time.Millisecond
	// DefaultDNSRetry is when a whoami query is sent a second time.
	DefaultDNSRetry = 500 * time.Millisecond
	// DefaultGrace is how long discovery waits, once two sources agree, for
	// a second STUN answer that tells the NAT mapping kind.
	DefaultGrace = 300 * time.Millisecond
)

// Timing holds the stagger and retransmit intervals; a zero field takes its
// default.
type Timing struct {
	RTO, DNSDelay, HTTPDelay, DNSRetry, Grace time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.RTO, DefaultRTO)
	def(&t.DNSDelay, DefaultDNSDelay)
	def(&t.HTTPDelay, DefaultHTTPDelay)
	def(&t.DNSRetry, DefaultDNSRetry)
	def(&t.Grace, DefaultGrace)
	return t
}

// Config says which servers to ask. Empty lists disable a method.
type Config struct {
	STUN   []string   // host:port
	Whoami []Whoami   // DNS whoami servers
	HTTP   []string   // echo URLs
	Timing Timing     // zero: defaults
	Lookup LookupFunc // resolves server names; nil: net.DefaultResolver
	// TLS configures HTTPS echo; nil means the system roots.
	TLS *tls.Config
}

// Status summarises the answers of one family.
type Status string

// Statuses of a family's public address.
const (
	StatusConfirmed    Status = "confirmed"     // two or more independent sources agree
	StatusSingleSource Status = "single-source" // exactly one source answered
	StatusConflict     Status = "conflict"      // sources disagree; no address is reported
	StatusNotFound     Status = "not-found"     // no source answered
)

// Result is the public address of one family and the evidence for it.
type Result struct {
	V6      bool
	Status  Status
	Address netip.Addr   // invalid unless Status is confirmed or single-source
	Kind    netinfo.Kind // kind of Address; empty when there is none
	Agree   int          // independent sources that gave Address
	Sources []Source     // every server asked, in method then configuration order
	Elapsed time.Duration
}

// Discover finds the public address of the family. STUN starts at once,
// DNS whoami after Timing.DNSDelay, HTTPS echo after Timing.HTTPDelay, all
// under ctx (whose deadline is the --timeout). It returns once every source
// has answered or failed, or two independent sources agree (after waiting
// up to Timing.Grace for a second STUN answer), or ctx ends.
func Discover(ctx context.Context, cfg Config, v6 bool) Result {
	t := cfg.Timing.withDefaults()
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	total := len(cfg.STUN) + len(cfg.Whoami) + len(cfg.HTTP)
	results := make(chan Source, total)
	emit := func(s Source) { results <- s }
	// Each method starts at its delay, or as soon as every earlier method
	// has finished without two sources agreeing: waiting for DNS is
	// pointless once STUN has failed. The collecting loop below decides.
	finished := [3]chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	startNow := [3]chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	agreedCh := make(chan struct{})
	later := func(idx int, delay time.Duration, method Method, names []string, run func()) {
		defer close(finished[idx])
		if len(names) == 0 {
			return
		}
		if delay > 0 {
			timer := time.NewTimer(delay)
			defer timer.Stop()
			notStarted := func(why string) {
				for i, name := range names {
					emit(Source{Method: method, Server: name, Err: "not started: " + why, order: i})
				}
			}
			select {
			case <-timer.C:
			case <-startNow[idx]:
			case <-agreedCh: // waiting only for a second STUN answer
				notStarted(errStopped.Error())
				return
			case <-ctx.Done():
				notStarted(describe(ctx, ctx.Err()))
				return
			}
		}
		run()
	}
	whoamiNames := make([]string, len(cfg.Whoami))
	for i, w := range cfg.Whoami {
		whoamiNames[i] = w.String()
	}
	go later(0, 0, MethodSTUN, cfg.STUN, func() {
		probeSTUN(ctx, cfg.STUN, t.RTO, cfg.Lookup, v6, emit)
	})
	go later(1, t.DNSDelay, MethodDNS, whoamiNames, func() {
		probeDNS(ctx, cfg.Whoami, t.DNSRetry, cfg.Lookup, v6, emit)
	})
	go later(2, t.HTTPDelay, MethodHTTP, cfg.HTTP, func() {
		probeHTTP(ctx, cfg.HTTP, cfg.TLS, v6, emit)
	})

	remaining := [3]int{len(cfg.STUN), len(cfg.Whoami), len(cfg.HTTP)}
	started := [3]bool{true, false, false}
	agreed := false
	startEarly := func() {
		for idx := 1; idx < 3 && !agreed; idx++ {
			if started[idx] {
				continue
			}
			if remaining[idx-1] > 0 || !started[idx-1] {
				return
			}
			started[idx] = true
			close(startNow[idx])
		}
	}
	startEarly()
	var sources []Source
	var grace <-chan time.Time
	stunAnswers, stunLeft := 0, len(cfg.STUN)
	for len(sources) < total {
		select {
		case s := <-results:
			sources = append(sources, s)
			remaining[methodRank(s.Method)]--
			if s.Method == MethodSTUN {
				stunLeft--
				if s.OK() {
					stunAnswers++
				}
			}
			if grace != nil || ctx.Err() != nil {
				if stunLeft == 0 || stunAnswers >= 2 {
					cancel(errStopped)
				}
				continue
			}
			if _, n := vote(sources, v6); n >= 2 {
				agreed = true
				close(agreedCh)
				if stunLeft == 0 || stunAnswers >= 2 {
					cancel(errStopped)
				} else {
					grace = time.After(t.Grace)
				}
				continue
			}
			startEarly()
		case <-grace:
			cancel(errStopped)
		}
	}
	for _, f := range finished {
		<-f
	}
	slices.SortStableFunc(sources, func(a, b Source) int {
		return cmp.Or(cmp.Compare(methodRank(a.Method), methodRank(b.Method)), cmp.Compare(a.order, b.order))
	})
	return summarize(sources, v6, time.Since(start))
}

func methodRank(m Method) int {
	switch m {
	case MethodSTUN:
		return 0
	case MethodDNS:
		return 1
	}
	return 2
}

// independentKey identifies a source for agreement counting: two answers
// are independent when they come from different methods or from servers
// with different IP addresses.
func independentKey(s Source) string {
	return string(s.Method) + " " + s.ServerAddr.Addr().String()
}

// vote returns the address given by the most independent sources and how
// many gave it; a tie goes to the address STUN gave first.
func vote(sources []Source, v6 bool) (netip.Addr, int) {
	counts := map[netip.Addr]map[string]bool{}
	var order []netip.Addr
	for _, s := range sources {
		if !s.OK() || s.Address.Is6() != v6 || s.Address.IsUnspecified() {
			continue
		}
		if counts[s.Address] == nil {
			counts[s.Address] = map[string]bool{}
			order = append(order, s.Address)
		}
		counts[s.Address][independentKey(s)] = true
	}
	var best netip.Addr
	n := 0
	for _, a := range order {
		if len(counts[a]) > n {
			best, n = a, len(counts[a])
		}
	}
	return best, n
}

// summarize computes the status of a family from its sources. Answers
// that disagree are a conflict, whatever the majority: sockcat never prints
// a guess.
func summarize(sources []Source, v6 bool, elapsed time.Duration) Result {
	r := Result{V6: v6, Sources: sources, Elapsed: elapsed, Status: StatusNotFound}
	for i, s := range sources {
		// An answer of the other family (a STUN server mapping an IPv4
		// request to an IPv6 address) or the unspecified address is not an
		// answer: it gets an error, so the report never shows it as one.
		switch {
		case !s.OK():
		case s.Address.Is6() != v6:
			sources[i].Err = fmt.Sprintf("answered %s, an %s address, to an %s request", s.Address, famName(s.Address.Is6()), famName(v6))
		case s.Address.IsUnspecified():
			sources[i].Err = "answered the unspecified address " + s.Address.String()
		}
	}
	distinct := map[netip.Addr]bool{}
	for _, s := range sources {
		if s.OK() && s.Address.Is6() == v6 && !s.Address.IsUnspecified() {
			distinct[s.Address] = true
		}
	}
	best, n := vote(sources, v6)
	switch {
	case len(distinct) == 0:
	case len(distinct) > 1:
		r.Status = StatusConflict
	case n >= 2:
		r.Status, r.Address, r.Agree = StatusConfirmed, best, n
	default:
		r.Status, r.Address, r.Agree = StatusSingleSource, best, n
	}
	if r.Address.IsValid() {
		r.Kind = netinfo.Classify(r.Address)
	}
	return r
}

func famName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}
