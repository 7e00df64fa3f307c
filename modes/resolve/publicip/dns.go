package publicip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sockcat/sockcat/ioutil"
	"golang.org/x/net/dns/dnsmessage"
)

// Whoami kinds: each is a DNS query whose answer is the querier's address,
// when sent straight to that provider's server (never through a recursive
// resolver, which would report its own egress address).
const (
	WhoamiOpenDNS    = "opendns"    // A/AAAA myip.opendns.com
	WhoamiGoogle     = "google"     // TXT o-o.myaddr.l.google.com
	WhoamiCloudflare = "cloudflare" // CHAOS TXT whoami.cloudflare
)

// WhoamiKinds lists the kinds [ParseWhoami] accepts.
var WhoamiKinds = []string{WhoamiOpenDNS, WhoamiGoogle, WhoamiCloudflare}

// defaultDNSPort is the DNS port.
const defaultDNSPort = 53

// Whoami is one DNS whoami source: a kind and the server to ask.
type Whoami struct {
	Kind   string
	Server string // host, host:port, or an IP literal; port 53 when absent
}

// String returns KIND@SERVER, the form [ParseWhoami] reads.
func (w Whoami) String() string { return w.Kind + "@" + w.Server }

// ParseWhoami parses KIND@SERVER, e.g. "google@ns1.google.com" or
// "cloudflare@[::1]:5353".
func ParseWhoami(s string) (Whoami, error) {
	kind, server, ok := strings.Cut(s, "@")
	if !ok || server == "" {
		return Whoami{}, fmt.Errorf("bad dns whoami %q: want KIND@SERVER, KIND one of %s", s, strings.Join(WhoamiKinds, ", "))
	}
	kind = strings.ToLower(kind)
	valid := false
	for _, k := range WhoamiKinds {
		valid = valid || k == kind
	}
	if !valid {
		return Whoami{}, fmt.Errorf("bad dns whoami kind %q in %q: want one of %s", kind, s, strings.Join(WhoamiKinds, ", "))
	}
	if err := checkHostPort(server, true); err != nil {
		return Whoami{}, fmt.Errorf("bad dns whoami server in %q: %w", s, err)
	}
	return Whoami{Kind: kind, Server: server}, nil
}

// checkHostPort validates host[:port]; the port may be omitted when
// portOptional. A bare IPv6 literal is accepted without brackets only when
// the port is optional.
func checkHostPort(s string, portOptional bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if !portOptional {
			return fmt.Errorf("%q: want HOST:PORT", s)
		}
		host, port = s, "53"
		if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		}
	}
	if host == "" || strings.ContainsAny(host, " /@[]") {
		return fmt.Errorf("%q: bad host", s)
	}
	if _, err := ParsePort(port); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	return nil
}

// ParsePort parses a port number 1-65535.
func ParsePort(s string) (uint16, error) {
	var n int
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("bad port %q: want 1-65535", s)
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port %q: want 1-65535", s)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("bad port %q: want 1-65535", s)
	}
	return uint16(n), nil
}

// whoamiQuestion returns the question for kind and family.
func whoamiQuestion(kind string, v6 bool) (dnsmessage.Question, error) {
	switch kind {
	case WhoamiOpenDNS:
		t := dnsmessage.TypeA
		if v6 {
			t = dnsmessage.TypeAAAA
		}
		return dnsmessage.Question{Name: dnsmessage.MustNewName("myip.opendns.com."), Type: t, Class: dnsmessage.ClassINET}, nil
	case WhoamiGoogle:
		return dnsmessage.Question{Name: dnsmessage.MustNewName("o-o.myaddr.l.google.com."), Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET}, nil
	case WhoamiCloudflare:
		return dnsmessage.Question{Name: dnsmessage.MustNewName("whoami.cloudflare."), Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassCHAOS}, nil
	}
	return dnsmessage.Question{}, fmt.Errorf("unknown dns whoami kind %q", kind)
}

// WhoamiQuery builds the query of kind for the family, with message ID id.
// Recursion is not desired: the query goes to the provider's own server.
func WhoamiQuery(kind string, v6 bool, id uint16) ([]byte, error) {
	q, err := whoamiQuestion(kind, v6)
	if err != nil {
		return nil, err
	}
	msg := dnsmessage.Message{Header: dnsmessage.Header{ID: id}, Questions: []dnsmessage.Question{q}}
	b, err := msg.Pack()
	if err != nil {
		return nil, fmt.Errorf("pack dns query: %w", err)
	}
	return b, nil
}

// errWrongID marks a response to another query; the prober keeps waiting.
var errWrongID = errors.New("dns response id does not match")

// ParseWhoamiResponse extracts the address from a whoami response to the
// query built by [WhoamiQuery] with the same kind, family and id. TXT
// answers may be quoted and may carry other strings (Google adds an
// "edns0-client-subnet" record); the first string that is an IP address of
// the family wins.
func ParseWhoamiResponse(kind string, v6 bool, id uint16, b []byte) (netip.Addr, error) {
	var msg dnsmessage.Message
	if err := msg.Unpack(b); err != nil {
		return netip.Addr{}, fmt.Errorf("unpack dns response: %w", err)
	}
	if msg.ID != id || !msg.Response {
		return netip.Addr{}, errWrongID
	}
	if msg.RCode != dnsmessage.RCodeSuccess {
		return netip.Addr{}, fmt.Errorf("dns response code %s", strings.TrimPrefix(msg.RCode.String(), "RCode"))
	}
	var other netip.Addr
	for _, rr := range msg.Answers {
		var cands []string
		switch body := rr.Body.(type) {
		case *dnsmessage.AResource:
			cands = append(cands, netip.AddrFrom4(body.A).String())
		case *dnsmessage.AAAAResource:
			cands = append(cands, netip.AddrFrom16(body.AAAA).String())
		case *dnsmessage.TXTResource:
			cands = append(cands, body.TXT...)
		}
		for _, c := range cands {
			a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(c), `"`))
			if err != nil || a.Zone() != "" {
				continue
			}
			a = a.Unmap()
			if a.Is6() == v6 {
				return a, nil
			}
			other = a
		}
	}
	if other.IsValid() {
		return netip.Addr{}, fmt.Errorf("answer %s is not an %s address", other, familyName(v6))
	}
	return netip.Addr{}, errors.New("dns response has no address")
}

// probeDNS asks every whoami server at once, each from its own socket, with
// one retransmit after retry. It emits exactly one Source per server.
func probeDNS(ctx context.Context, servers []Whoami, retry time.Duration, lookup LookupFunc, v6 bool, emit func(Source)) {
	var wg sync.WaitGroup
	for i, w := range servers {
		wg.Go(func() { emit(askWhoami(ctx, w, i, retry, lookup, v6)) })
	}
	wg.Wait()
}

// askWhoami sends one whoami query and waits for its answer.
func askWhoami(ctx context.Context, w Whoami, order int, retry time.Duration, lookup LookupFunc, v6 bool) Source {
	src := Source{Method: MethodDNS, Server: w.String(), order: order}
	ap, err := resolveServer(ctx, lookup, w.Server, defaultDNSPort, v6)
	if err != nil {
		src.Err = describe(ctx, err)
		return src
	}
	src.ServerAddr = ap
	id := uint16(rand.N(1 << 16))
	query, err := WhoamiQuery(w.Kind, v6, id)
	if err != nil {
		src.Err = err.Error()
		return src
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network("udp", v6), ap.String())
	if err != nil {
		src.Err = describe(ctx, err)
		return src
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(ioutil.ALongTimeAgo) })
	defer stop()
	start := time.Now()
	buf := make([]byte, 1500)
	for attempt := 0; attempt < 2; attempt++ {
		if _, err := conn.Write(query); err != nil {
			src.Err = describe(ctx, err)
			return src
		}
		if ctx.Err() == nil {
			conn.SetReadDeadline(time.Now().Add(retry))
		}
		for {
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() && attempt == 0 {
					break // retransmit once
				}
				src.Err = describe(ctx, err)
				if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
					src.Err = "timeout: no answer to 2 queries"
				}
				return src
			}
			a, err := ParseWhoamiResponse(w.Kind, v6, id, buf[:n])
			if errors.Is(err, errWrongID) {
				continue
			}
			src.RTT = time.Since(start)
			if err != nil {
				src.Err = err.Error()
				return src
			}
			src.Address = a
			return src
		}
	}
	return src
}
