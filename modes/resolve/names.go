package resolve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sockcat/sockcat/ioutil"
	"golang.org/x/net/dns/dnsmessage"
)

// NameResult is what one NAME[:PORT] argument resolved to.
type NameResult struct {
	Query     string // the argument as given
	Host      string
	Port      int    // 0 when no port was given
	Resolver  string // "system", "dns@HOST:PORT", or "literal" for an IP address
	CNAME     string // canonical name, with a trailing dot; empty when unknown
	A         []netip.Addr
	AAAA      []netip.Addr
	FromHosts bool         // the name is in the hosts file, which the system resolver reads first
	HostsAddr []netip.Addr // the hosts-file addresses of the name
	DialOrder []netip.Addr // the order `sockcat NAME PORT` would try
	Reverse   map[netip.Addr][]string
	Notes     []string // e.g. "no AAAA in hosts file"
	Err       string   // empty when at least one address was found
	NotFound  bool     // the name does not exist (NXDOMAIN or no address at all)
}

// OK reports whether the name resolved to at least one address.
func (n NameResult) OK() bool { return n.Err == "" }

// SplitName splits NAME[:PORT]. PORT is a number or a service name;
// an IPv6 literal with a port needs brackets ([::1]:80).
func SplitName(s string) (host string, port int, err error) {
	if s == "" {
		return "", 0, errors.New("empty name")
	}
	host = s
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := lookupPort(p)
		if err != nil {
			return "", 0, fmt.Errorf("bad port in %q: %w", s, err)
		}
		host, port = h, n
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if host == "" || strings.ContainsAny(host, " /@[]\t\n") || len(host) > 253 {
		return "", 0, fmt.Errorf("bad name %q: want NAME[:PORT]", s)
	}
	return host, port, nil
}

func lookupPort(p string) (int, error) {
	if n, err := strconv.Atoi(p); err == nil {
		if n < 1 || n > 65535 {
			return 0, fmt.Errorf("port %d out of range 1-65535", n)
		}
		return n, nil
	}
	if p == "" || strings.ContainsAny(p, " /") {
		return 0, fmt.Errorf("%q: want a port 1-65535 or a service name", p)
	}
	n, err := net.LookupPort("tcp", p) // /etc/services; no network
	if err != nil || n == 0 {
		return 0, fmt.Errorf("unknown service %q: want a port 1-65535 or a service name", p)
	}
	return n, nil
}

// ParseHosts parses hosts-file text into name → addresses, names folded to
// lower case without a trailing dot.
func ParseHosts(data []byte) map[string][]netip.Addr {
	out := map[string][]netip.Addr{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		a = a.Unmap()
		for _, name := range f[1:] {
			name = strings.ToLower(strings.TrimSuffix(name, "."))
			if name == "" {
				continue // a lone "."
			}
			out[name] = append(out[name], a)
		}
	}
	return out
}

// nameResolver answers the questions of one name.
type nameResolver interface {
	lookup(ctx context.Context, host string, v6 bool) ([]netip.Addr, error)
	cname(ctx context.Context, host string) (string, error)
	reverse(ctx context.Context, a netip.Addr) ([]string, error)
	name() string
	// dialOrder returns the addresses in the order a connect would try
	// them, or nil when the resolver cannot tell.
	dialOrder(ctx context.Context, host string) []netip.Addr
}

// systemResolver is what `sockcat HOST PORT` uses: the hosts file, then DNS.
type systemResolver struct{ r *net.Resolver }

func (s systemResolver) name() string { return "system" }

func (s systemResolver) lookup(ctx context.Context, host string, v6 bool) ([]netip.Addr, error) {
	nw := "ip4"
	if v6 {
		nw = "ip6"
	}
	return s.r.LookupNetIP(ctx, nw, host)
}

func (s systemResolver) cname(ctx context.Context, host string) (string, error) {
	return s.r.LookupCNAME(ctx, host)
}

// dialOrder asks the resolver what net.Dialer asks: all addresses of the
// name, sorted by RFC 6724 (Go's resolver sorts them).
func (s systemResolver) dialOrder(ctx context.Context, host string) []netip.Addr {
	addrs, err := s.r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	return addrs
}

func (s systemResolver) reverse(ctx context.Context, a netip.Addr) ([]string, error) {
	return s.r.LookupAddr(ctx, a.String())
}

// errNoExternalDNS is returned instead of querying a non-loopback DNS server
// when SOCKCAT_NO_EXTERNAL=1.
var errNoExternalDNS = errors.New("dns query refused: SOCKCAT_NO_EXTERNAL=1 and the system resolver is not on loopback")

// noExternalResolver reads the hosts file as usual but refuses to send a
// query to any DNS server that is not on loopback.
func noExternalResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true, // Dial is ignored otherwise (golang/go#19268)
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if ap, err := netip.ParseAddrPort(address); err == nil && ap.Addr().Unmap().IsLoopback() {
				var d net.Dialer
				return d.DialContext(ctx, network, address)
			}
			return nil, errNoExternalDNS
		},
	}
}

// directResolver asks one DNS server, bypassing the hosts file.
type directResolver struct {
	server string // host:port
	retry  time.Duration
}

func (d directResolver) name() string { return "dns@" + d.server }

// errNXDomain reports a name that does not exist.
var errNXDomain = errors.New("no such host")

func (d directResolver) lookup(ctx context.Context, host string, v6 bool) ([]netip.Addr, error) {
	t := dnsmessage.TypeA
	if v6 {
		t = dnsmessage.TypeAAAA
	}
	ans, err := d.query(ctx, host, t)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, rr := range ans {
		switch b := rr.Body.(type) {
		case *dnsmessage.AResource:
			if !v6 {
				out = append(out, netip.AddrFrom4(b.A))
			}
		case *dnsmessage.AAAAResource:
			if v6 {
				out = append(out, netip.AddrFrom16(b.AAAA).Unmap())
			}
		}
	}
	return out, nil
}

func (d directResolver) dialOrder(context.Context, string) []netip.Addr { return nil }

func (d directResolver) cname(ctx context.Context, host string) (string, error) {
	ans, err := d.query(ctx, host, dnsmessage.TypeA)
	if err != nil {
		return "", err
	}
	cname := fqdn(host)
	for _, rr := range ans { // follow the chain in answer order
		if b, ok := rr.Body.(*dnsmessage.CNAMEResource); ok && strings.EqualFold(rr.Header.Name.String(), cname) {
			cname = b.CNAME.String()
		}
	}
	return cname, nil
}

func (d directResolver) reverse(ctx context.Context, a netip.Addr) ([]string, error) {
	arpa, err := reverseName(a)
	if err != nil {
		return nil, err
	}
	ans, err := d.query(ctx, arpa, dnsmessage.TypePTR)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range ans {
		if b, ok := rr.Body.(*dnsmessage.PTRResource); ok {
			out = append(out, b.PTR.String())
		}
	}
	return out, nil
}

// reverseName returns the in-addr.arpa or ip6.arpa name of a.
func reverseName(a netip.Addr) (string, error) {
	a = a.Unmap()
	var sb strings.Builder
	if a.Is4() {
		b := a.As4()
		fmt.Fprintf(&sb, "%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0])
		return sb.String(), nil
	}
	if !a.Is6() {
		return "", fmt.Errorf("bad address %v", a)
	}
	b := a.As16()
	const hexDigits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		sb.WriteByte(hexDigits[b[i]&0xf])
		sb.WriteByte('.')
		sb.WriteByte(hexDigits[b[i]>>4])
		sb.WriteByte('.')
	}
	sb.WriteString("ip6.arpa.")
	return sb.String(), nil
}

func fqdn(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// query sends one question over UDP, retrying once, and returns the answer
// records. NXDOMAIN is errNXDomain.
func (d directResolver) query(ctx context.Context, host string, t dnsmessage.Type) ([]dnsmessage.Resource, error) {
	name, err := dnsmessage.NewName(fqdn(host))
	if err != nil {
		return nil, fmt.Errorf("bad name %q: %w", host, err)
	}
	id := uint16(rand.N(1 << 16))
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: name, Type: t, Class: dnsmessage.ClassINET}},
	}
	q, err := msg.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack dns query: %w", err)
	}
	var dl net.Dialer
	conn, err := dl.DialContext(ctx, "udp", d.server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(ioutil.ALongTimeAgo) })
	defer stop()
	buf := make([]byte, 65535)
	for attempt := 0; ; attempt++ {
		if _, err := conn.Write(q); err != nil {
			return nil, err
		}
		if ctx.Err() == nil {
			conn.SetReadDeadline(time.Now().Add(d.retry))
		}
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() && attempt == 0 {
					break
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, err
			}
			var resp dnsmessage.Message
			if err := resp.Unpack(buf[:n]); err != nil || resp.ID != id || !resp.Response {
				continue
			}
			switch resp.RCode {
			case dnsmessage.RCodeSuccess:
				return resp.Answers, nil
			case dnsmessage.RCodeNameError:
				return nil, errNXDomain
			default:
				return nil, fmt.Errorf("server answered %s", strings.TrimPrefix(resp.RCode.String(), "RCode"))
			}
		}
	}
}

// lookupName resolves one NAME[:PORT] argument.
func lookupName(ctx context.Context, arg string, r nameResolver, hosts map[string][]netip.Addr, fams []bool, v6First, verbose bool) NameResult {
	host, port, _ := SplitName(arg) // validated before
	res := NameResult{Query: arg, Host: host, Port: port, Resolver: r.name()}
	if a, err := netip.ParseAddr(host); err == nil {
		res.Resolver = "literal"
		a = a.Unmap()
		if a.Is4() {
			res.A = []netip.Addr{a}
		} else {
			res.AAAA = []netip.Addr{a}
		}
		res.DialOrder = []netip.Addr{a}
		if verbose {
			res.Reverse = map[netip.Addr][]string{}
			if names, err := r.reverse(ctx, a); err == nil && len(names) > 0 {
				res.Reverse[a] = names
			}
		}
		return res
	}
	if _, sys := r.(systemResolver); sys {
		if h, ok := hosts[strings.ToLower(strings.TrimSuffix(host, "."))]; ok {
			res.FromHosts = true
			res.HostsAddr = h
		}
	}
	var errs []error
	notFound := 0
	for _, v6 := range fams {
		addrs, err := r.lookup(ctx, host, v6)
		var clean []netip.Addr
		for _, a := range addrs {
			a = a.Unmap()
			if a.Is6() == v6 {
				clean = append(clean, a)
			}
		}
		if v6 {
			res.AAAA = clean
		} else {
			res.A = clean
		}
		if err != nil {
			var de *net.DNSError
			switch {
			case res.FromHosts && len(clean) == 0:
				// The hosts file has the name but not this family; Go does not
				// fall through to DNS for it (golang/go#20327).
				res.Notes = append(res.Notes, fmt.Sprintf("no %s in hosts file", map[bool]string{false: "A", true: "AAAA"}[v6]))
				continue
			case errors.Is(err, errNXDomain), errors.As(err, &de) && de.IsNotFound:
				notFound++
			}
			errs = append(errs, err)
		}
	}
	if cn, err := r.cname(ctx, host); err == nil && cn != "" {
		res.CNAME = fqdn(cn)
	}
	all := append(append([]netip.Addr(nil), res.A...), res.AAAA...)
	if len(all) == 0 {
		res.NotFound = notFound > 0 || len(errs) == 0
		res.Err = nameError(host, r.name(), errs, res.NotFound)
		return res
	}
	res.DialOrder = dialOrder(r.dialOrder(ctx, host), res.A, res.AAAA, fams, v6First)
	if verbose {
		res.Reverse = map[netip.Addr][]string{}
		for _, a := range all {
			if names, err := r.reverse(ctx, a); err == nil && len(names) > 0 {
				res.Reverse[a] = names
			}
		}
	}
	return res
}

// nameError writes the failure of a name in one line that names the
// resolver actually asked (the net package names resolv.conf's server even
// when another one answered).
func nameError(host, resolver string, errs []error, notFound bool) string {
	if notFound {
		return fmt.Sprintf("lookup %s (%s): no such host", host, resolver)
	}
	msg := "no address"
	if len(errs) > 0 {
		err := errs[0]
		var de *net.DNSError
		if errors.As(err, &de) {
			msg = de.Err
		} else {
			msg = err.Error()
		}
	}
	return fmt.Sprintf("lookup %s (%s): %s", host, resolver, msg)
}

// dialOrder returns the order in which a net.Dialer tries the addresses
// (net/dial.go partition): the family of the first address comes first, one
// address after another, and the other family races it after 300 ms (Happy
// Eyeballs, RFC 8305), which this list shows after the first family. sorted
// is the resolver's own order when known; otherwise IPv6 goes first when the
// host has an IPv6 route, as RFC 6724's default policy prefers.
func dialOrder(sorted, a, aaaa []netip.Addr, fams []bool, v6First bool) []netip.Addr {
	want := map[bool]bool{}
	for _, v6 := range fams {
		want[v6] = true
	}
	var all []netip.Addr
	for _, x := range sorted {
		if x = x.Unmap(); want[x.Is6()] {
			all = append(all, x)
		}
	}
	if len(all) == 0 {
		if v6First {
			all = append(append(all, aaaa...), a...)
		} else {
			all = append(append(all, a...), aaaa...)
		}
	}
	if len(all) == 0 {
		return nil
	}
	var primaries, fallbacks []netip.Addr
	for _, x := range all {
		if x.Is6() == all[0].Is6() {
			primaries = append(primaries, x)
		} else {
			fallbacks = append(fallbacks, x)
		}
	}
	return append(primaries, fallbacks...)
}

// readHosts reads the hosts file; a missing file is an empty one.
func readHosts(path string) map[string][]netip.Addr {
	if path == "" {
		path = "/etc/hosts"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return ParseHosts(data)
}
