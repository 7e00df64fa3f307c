// Package resolvetest runs fake STUN, DNS and HTTP echo servers on
// loopback, so tests of `sockcat resolve` never leave the host. Each
// server answers with what a mapping function makes of the client's
// address, which lets a test play a cone NAT, a symmetric NAT or a liar.
package resolvetest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v3"
	"golang.org/x/net/dns/dnsmessage"
)

// MapFunc turns the client's address into the address a server reports.
type MapFunc func(client netip.AddrPort) netip.AddrPort

// Identity reports the client's address as it is: no NAT.
func Identity(c netip.AddrPort) netip.AddrPort { return c }

// Fixed reports addr, keeping the client's port (a cone NAT's public IP).
func Fixed(addr string) MapFunc {
	a := netip.MustParseAddr(addr)
	return func(c netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(a, c.Port()) }
}

// FixedPort reports addr:port whatever the client (a symmetric NAT when
// two servers use different ports).
func FixedPort(addrPort string) MapFunc {
	ap := netip.MustParseAddrPort(addrPort)
	return func(netip.AddrPort) netip.AddrPort { return ap }
}

// STUNMode makes a fake STUN server misbehave.
type STUNMode int

// STUN server behaviours.
const (
	STUNNormal     STUNMode = iota // XOR-MAPPED-ADDRESS
	STUNSilent                     // never answers
	STUNWrongTxID                  // answers with another transaction ID
	STUNMappedOnly                 // only MAPPED-ADDRESS, as RFC 3489 servers
	STUNOldXOR                     // XOR-MAPPED-ADDRESS under the old 0x8020 type
	STUNGarbage                    // answers with bytes that are not STUN
	STUNDropFirst                  // ignores the first request of each transaction (tests retransmits)
)

// STUNServer is a running fake STUN server.
type STUNServer struct {
	Addr netip.AddrPort
	conn net.PacketConn
	wg   sync.WaitGroup

	mu       sync.Mutex // guards following
	requests int
	seen     map[[stun.TransactionIDSize]byte]bool
}

// StartSTUN listens on addr ("127.0.0.1:0", "[::1]:0") and answers every
// Binding request with mapFn of the sender's address.
func StartSTUN(addr string, mode STUNMode, mapFn MapFunc) (*STUNServer, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake stun: %w", err)
	}
	s := &STUNServer{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), conn: pc, seen: map[[stun.TransactionIDSize]byte]bool{}}
	s.wg.Add(1)
	go s.serve(mode, mapFn)
	return s, nil
}

// Requests returns how many requests arrived.
func (s *STUNServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Close stops the server and waits for it.
func (s *STUNServer) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func (s *STUNServer) serve(mode STUNMode, mapFn MapFunc) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		req := new(stun.Message)
		if err := stun.Decode(buf[:n], req); err != nil || req.Type != stun.BindingRequest {
			continue
		}
		s.mu.Lock()
		s.requests++
		first := !s.seen[req.TransactionID]
		s.seen[req.TransactionID] = true
		s.mu.Unlock()
		client := from.(*net.UDPAddr).AddrPort()
		client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
		m := mapFn(client)
		ip := net.IP(m.Addr().AsSlice())
		var resp []byte
		switch mode {
		case STUNSilent:
			continue
		case STUNDropFirst:
			if first {
				continue
			}
			resp = build(req.TransactionID, &stun.XORMappedAddress{IP: ip, Port: int(m.Port())})
		case STUNGarbage:
			resp = []byte("HTTP/1.1 400 Bad Request\r\n\r\n")
		case STUNWrongTxID:
			resp = build(stun.NewTransactionID(), &stun.XORMappedAddress{IP: ip, Port: int(m.Port())})
		case STUNMappedOnly:
			resp = build(req.TransactionID, &stun.MappedAddress{IP: ip, Port: int(m.Port())})
		case STUNOldXOR:
			resp = build(req.TransactionID, oldXOR{stun.XORMappedAddress{IP: ip, Port: int(m.Port())}})
		default:
			resp = build(req.TransactionID, &stun.XORMappedAddress{IP: ip, Port: int(m.Port())})
		}
		s.conn.WriteTo(resp, from)
	}
}

type oldXOR struct{ stun.XORMappedAddress }

func (o oldXOR) AddTo(m *stun.Message) error { return o.AddToAs(m, 0x8020) }

func build(txid [stun.TransactionIDSize]byte, attr stun.Setter) []byte {
	m := stun.MustBuild(stun.NewTransactionIDSetter(txid), stun.BindingSuccess, attr, stun.Fingerprint)
	return m.Raw
}

// DNSServer is a running fake DNS server. It answers the whoami questions
// with Whoami of the querier's address and serves Zone for other names.
type DNSServer struct {
	Addr netip.AddrPort
	conn net.PacketConn
	wg   sync.WaitGroup
	// Silent drops every query (for timeout tests); set before queries arrive.
	silent bool
}

// Record is one name in a fake zone.
type Record struct {
	CNAME string // when set, the name is an alias of CNAME (which must be in the zone)
	A     []string
	AAAA  []string
	PTR   string // when set, the reverse of every A and AAAA is this name
}

// StartDNS listens on addr and answers whoami queries with whoami of the
// sender (nil: the sender's address), names in zone, NXDOMAIN otherwise.
// Names in zone are fully qualified, lower case ("dual.example.test.").
func StartDNS(addr string, whoami MapFunc, zone map[string]Record, silent bool) (*DNSServer, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake dns: %w", err)
	}
	if whoami == nil {
		whoami = Identity
	}
	s := &DNSServer{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), conn: pc, silent: silent}
	ptr := map[string]string{}
	for _, rec := range zone {
		if rec.PTR == "" {
			continue
		}
		for _, a := range append(append([]string{}, rec.A...), rec.AAAA...) {
			if name, err := reverseName(netip.MustParseAddr(a)); err == nil {
				ptr[name] = rec.PTR
			}
		}
	}
	s.wg.Add(1)
	go s.serve(whoami, zone, ptr)
	return s, nil
}

// Close stops the server and waits for it.
func (s *DNSServer) Close() error {
	err := s.conn.Close()
	s.wg.Wait()
	return err
}

func (s *DNSServer) serve(whoami MapFunc, zone map[string]Record, ptr map[string]string) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if s.silent {
			continue
		}
		var q dnsmessage.Message
		if err := q.Unpack(buf[:n]); err != nil || len(q.Questions) != 1 {
			continue
		}
		client := from.(*net.UDPAddr).AddrPort()
		client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
		resp := answer(q, whoami(client).Addr(), zone, ptr)
		b, err := resp.Pack()
		if err != nil {
			continue
		}
		s.conn.WriteTo(b, from)
	}
}

func answer(q dnsmessage.Message, me netip.Addr, zone map[string]Record, ptr map[string]string) dnsmessage.Message {
	qq := q.Questions[0]
	resp := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: q.ID, Response: true, Authoritative: true, RecursionDesired: q.RecursionDesired},
		Questions: q.Questions,
	}
	name := strings.ToLower(qq.Name.String())
	hdr := func(n dnsmessage.Name, t dnsmessage.Type, class dnsmessage.Class) dnsmessage.ResourceHeader {
		return dnsmessage.ResourceHeader{Name: n, Type: t, Class: class, TTL: 60}
	}
	switch {
	case name == "myip.opendns.com." && qq.Type == dnsmessage.TypeA && me.Is4():
		resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr(qq.Name, qq.Type, qq.Class), Body: &dnsmessage.AResource{A: me.As4()}})
		return resp
	case name == "myip.opendns.com." && qq.Type == dnsmessage.TypeAAAA && me.Is6():
		resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr(qq.Name, qq.Type, qq.Class), Body: &dnsmessage.AAAAResource{AAAA: me.As16()}})
		return resp
	case name == "myip.opendns.com.":
		return resp // NOERROR, no data for the other family
	case name == "o-o.myaddr.l.google.com." && qq.Type == dnsmessage.TypeTXT:
		resp.Answers = append(resp.Answers,
			dnsmessage.Resource{Header: hdr(qq.Name, qq.Type, qq.Class), Body: &dnsmessage.TXTResource{TXT: []string{"edns0-client-subnet 192.0.2.0/24"}}},
			dnsmessage.Resource{Header: hdr(qq.Name, qq.Type, qq.Class), Body: &dnsmessage.TXTResource{TXT: []string{me.String()}}})
		return resp
	case name == "whoami.cloudflare." && qq.Type == dnsmessage.TypeTXT && qq.Class == dnsmessage.ClassCHAOS:
		resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr(qq.Name, qq.Type, qq.Class), Body: &dnsmessage.TXTResource{TXT: []string{`"` + me.String() + `"`}}})
		return resp
	}
	if qq.Type == dnsmessage.TypePTR {
		if p, ok := ptr[name]; ok {
			resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr(qq.Name, qq.Type, qq.Class), Body: &dnsmessage.PTRResource{PTR: dnsmessage.MustNewName(p)}})
			return resp
		}
		resp.RCode = dnsmessage.RCodeNameError
		return resp
	}
	rec, ok := zone[name]
	if !ok {
		resp.RCode = dnsmessage.RCodeNameError
		return resp
	}
	owner := qq.Name
	for rec.CNAME != "" {
		target := dnsmessage.MustNewName(rec.CNAME)
		resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr(owner, dnsmessage.TypeCNAME, dnsmessage.ClassINET), Body: &dnsmessage.CNAMEResource{CNAME: target}})
		owner = target
		rec = zone[strings.ToLower(rec.CNAME)]
	}
	switch qq.Type {
	case dnsmessage.TypeA:
		for _, a := range rec.A {
			resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr(owner, dnsmessage.TypeA, dnsmessage.ClassINET), Body: &dnsmessage.AResource{A: netip.MustParseAddr(a).As4()}})
		}
	case dnsmessage.TypeAAAA:
		for _, a := range rec.AAAA {
			resp.Answers = append(resp.Answers, dnsmessage.Resource{Header: hdr(owner, dnsmessage.TypeAAAA, dnsmessage.ClassINET), Body: &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(a).As16()}})
		}
	}
	return resp
}

func reverseName(a netip.Addr) (string, error) {
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0]), nil
	}
	if !a.Is6() {
		return "", errors.New("bad address")
	}
	b := a.As16()
	var sb strings.Builder
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

// EchoMode makes a fake echo server misbehave.
type EchoMode int

// Echo server behaviours.
const (
	EchoNormal EchoMode = iota // the mapped address and a newline
	EchoHTML                   // a 200 with an HTML page
	EchoError                  // a 500
	EchoSlow                   // waits 10 s (or until the client leaves) before answering
	EchoHuge                   // a 1 MiB body
)

// StartEcho starts an HTTP echo server on addr ("127.0.0.1:0", "[::1]:0")
// and returns it; its URL field is the address to ask.
func StartEcho(addr string, mode EchoMode, mapFn MapFunc) (*httptest.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake http echo: %w", err)
	}
	if mapFn == nil {
		mapFn = Identity
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap, err := netip.ParseAddrPort(r.RemoteAddr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		switch mode {
		case EchoHTML:
			fmt.Fprint(w, "<!DOCTYPE html><html><body>captcha</body></html>")
		case EchoError:
			http.Error(w, "internal error", http.StatusInternalServerError)
		case EchoSlow:
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			fmt.Fprintln(w, mapFn(ap).Addr())
		case EchoHuge:
			w.Write(make([]byte, 1<<20))
		default:
			fmt.Fprintln(w, mapFn(ap).Addr())
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv, nil
}
