package modes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// lookup resolves host to addresses in dial order, honouring -4/-6 and -n.
// An address literal of the wrong family is an error and nothing is tried.
func lookup(ctx context.Context, cfg *Config, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if cfg.Net.Family == Family4 && !a.Is4() {
			return nil, fmt.Errorf("%s is not an IPv4 address (-4 given)", host)
		}
		if cfg.Net.Family == Family6 && !a.Is6() {
			return nil, fmt.Errorf("%s is not an IPv6 address (-6 given)", host)
		}
		return []netip.Addr{a}, nil
	}
	if cfg.Net.Numeric {
		return nil, fmt.Errorf("%s is not a numeric address (-n given)", host)
	}
	nw := "ip"
	switch cfg.Net.Family {
	case Family4:
		nw = "ip4"
	case Family6:
		nw = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, nw, host)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.Unmap())
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no suitable address", Name: host, IsNotFound: true}
	}
	return out, nil
}

// dialer builds the net.Dialer for -s, -p, -w and the socket options.
func dialer(cfg *Config, base string) (*net.Dialer, error) {
	d := &net.Dialer{
		Timeout:   cfg.Net.Timeout,
		KeepAlive: -1, // Go enables keepalive by default; nc does not
		Control:   control(cfg),
	}
	if cfg.Net.Keepalive {
		d.KeepAlive = 0 // Go's default interval (15s)
	}
	if cfg.Net.Source != "" || cfg.Net.SourcePort != 0 {
		var ip net.IP
		if cfg.Net.Source != "" {
			a, err := netip.ParseAddr(cfg.Net.Source)
			if err != nil {
				return nil, fmt.Errorf("source address %q: not an IP address", cfg.Net.Source)
			}
			ip = a.Unmap().AsSlice()
		}
		if base == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: ip, Port: cfg.Net.SourcePort}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip, Port: cfg.Net.SourcePort}
		}
	}
	return d, nil
}

// dialStream connects to HOST:PORT over TCP (or through -X), trying every
// resolved address in order and retrying per --retry. It returns the
// connection and the address it reached; on failure the error names the last
// address tried and its reason.
func dialStream(ctx context.Context, cfg *Config, stdio Stdio) (net.Conn, error) {
	return dialRetry(ctx, cfg, stdio, func(ctx context.Context) (net.Conn, error) {
		if cfg.Proxy != "" {
			return dialProxy(ctx, cfg)
		}
		return dialAddrs(ctx, cfg, stdio, "tcp")
	})
}

// dialRetry calls dial, and again up to --retry times after a refusal or
// timeout, pausing --retry-delay between attempts.
func dialRetry(ctx context.Context, cfg *Config, stdio Stdio, dial func(context.Context) (net.Conn, error)) (net.Conn, error) {
	for attempt := 0; ; attempt++ {
		c, err := dial(ctx)
		if err == nil || attempt >= cfg.Net.Retry || ctx.Err() != nil || !retryable(err) {
			return c, err
		}
		logf(cfg, stdio, "%v; retrying (%d/%d)", err, attempt+1, cfg.Net.Retry)
		t := time.NewTimer(cfg.Net.RetryDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
}

func retryable(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errTimeout) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// dialAddrs resolves the host and dials each address in turn.
func dialAddrs(ctx context.Context, cfg *Config, stdio Stdio, base string) (net.Conn, error) {
	hostport := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	addrs, err := lookup(ctx, cfg, cfg.Host)
	if err != nil {
		return nil, describe("connect", hostport, err)
	}
	d, err := dialer(cfg, base)
	if err != nil {
		return nil, err
	}
	var last error
	for _, a := range addrs {
		ap := netip.AddrPortFrom(a, uint16(cfg.Port)).String()
		nw := base + "4"
		if a.Is6() {
			nw = base + "6"
		}
		c, err := d.DialContext(ctx, nw, ap)
		if err == nil {
			if base == "tcp" {
				tuneTCP(cfg, c)
			}
			return c, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		last = describe("connect", ap, err)
		if len(addrs) > 1 {
			logf(cfg, stdio, "%v", last)
		}
	}
	return nil, last
}
