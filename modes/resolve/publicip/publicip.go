// Package publicip finds the address that internet peers see, per address
// family, with three independent methods: STUN Binding requests, DNS
// "whoami" queries and HTTPS echo services. [Discover] runs them staggered
// under one deadline, stops early once two independent sources agree, and
// keeps every answer and every error.
package publicip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"
)

// Method names a discovery method.
type Method string

// Discovery methods, in the order they start.
const (
	MethodSTUN Method = "stun"
	MethodDNS  Method = "dns"
	MethodHTTP Method = "http"
)

// Source is the outcome of asking one server.
type Source struct {
	Method     Method
	Server     string         // as configured: "stun.example.net:3478", "google@ns1.google.com", a URL
	ServerAddr netip.AddrPort // the address the request went to; invalid when the name did not resolve
	Address    netip.Addr     // the answer, unmapped; invalid when there is none
	MappedPort int            // STUN: the mapped port; 0 otherwise
	LocalPort  int            // STUN: the local port of the probing socket; 0 otherwise
	RTT        time.Duration  // time to the answer; 0 when there is none
	Err        string         // why there is no answer; empty when there is one

	order int // position in the configuration, for a stable report
}

// OK reports whether the source produced an answer.
func (s Source) OK() bool { return s.Address.IsValid() && s.Err == "" }

// LookupFunc resolves host to addresses of network "ip4" or "ip6", like
// [net.Resolver.LookupNetIP].
type LookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// errStopped is the cancellation cause once enough sources agree.
var errStopped = errors.New("not needed: two sources already agreed")

// network returns "udp4"/"udp6"-style names for the family.
func network(proto string, v6 bool) string {
	if v6 {
		return proto + "6"
	}
	return proto + "4"
}

func familyName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

// resolveServer turns "host:port" into one address of the family. An IP
// literal of the other family is an error; a name is looked up with lookup.
func resolveServer(ctx context.Context, lookup LookupFunc, hostport string, defPort int, v6 bool) (netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		host, portStr = hostport, strconv.Itoa(defPort)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("bad port in %q", hostport)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if a.Is6() != v6 {
			return netip.AddrPort{}, fmt.Errorf("%s is not an %s address", a, familyName(v6))
		}
		return netip.AddrPortFrom(a, uint16(port)), nil
	}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupNetIP
	}
	addrs, err := lookup(ctx, network("ip", v6), host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("lookup %s: %w", host, unwrapDNSError(err))
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is6() == v6 {
			return netip.AddrPortFrom(a, uint16(port)), nil
		}
	}
	return netip.AddrPort{}, fmt.Errorf("lookup %s: no %s address", host, familyName(v6))
}

// unwrapDNSError drops the resolver's own prefix ("lookup x on y:") so that
// messages do not name the lookup twice.
func unwrapDNSError(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) {
		return errors.New(de.Err)
	}
	return err
}

// describe turns the error that ended a probe into its report text. A
// cancellation reports its cause: a deadline or an early stop.
func describe(ctx context.Context, err error) string {
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if errors.Is(cause, context.DeadlineExceeded) {
			return "timeout"
		}
		return cause.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return "timeout" // the deadline passed a moment before ctx noticed
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return "lookup " + de.Name + ": " + de.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return err.Error()
}
