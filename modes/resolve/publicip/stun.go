package publicip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v3"
	"github.com/sockcat/sockcat/ioutil"
)

// stunRetransmits is how many times a Binding request is sent in all, at
// 0, RTO, 3·RTO, 7·RTO (RFC 5389 §7.2.1 doubles the interval).
const stunRetransmits = 4

// defaultSTUNPort is the STUN port of RFC 5389 §9.
const defaultSTUNPort = 3478

// attrXORMappedAddressOld is the type some old servers use for
// XOR-MAPPED-ADDRESS (draft-ietf-behave-rfc3489bis-02).
const attrXORMappedAddressOld stun.AttrType = 0x8020

// ErrNotSTUN means a datagram is not a STUN message.
var ErrNotSTUN = errors.New("not a stun message")

// BindingRequest returns a STUN Binding request with a FINGERPRINT and
// its transaction ID.
func BindingRequest() ([]byte, [stun.TransactionIDSize]byte, error) {
	m, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return nil, [stun.TransactionIDSize]byte{}, fmt.Errorf("build stun request: %w", err)
	}
	return m.Raw, m.TransactionID, nil
}

// ParseBindingResponse decodes a Binding success response and returns its
// transaction ID and mapped address, unmapped. It reads XOR-MAPPED-ADDRESS,
// then the old 0x8020 type, then plain MAPPED-ADDRESS (RFC 3489 servers).
func ParseBindingResponse(b []byte) ([stun.TransactionIDSize]byte, netip.AddrPort, error) {
	var txid [stun.TransactionIDSize]byte
	if !stun.IsMessage(b) {
		return txid, netip.AddrPort{}, ErrNotSTUN
	}
	m := new(stun.Message)
	if err := stun.Decode(b, m); err != nil {
		return txid, netip.AddrPort{}, fmt.Errorf("decode stun message: %w", err)
	}
	txid = m.TransactionID
	if m.Type != stun.BindingSuccess {
		return txid, netip.AddrPort{}, fmt.Errorf("stun response type %s, want binding success", m.Type)
	}
	var ip net.IP
	var port int
	var xa stun.XORMappedAddress
	var ma stun.MappedAddress
	switch {
	case xa.GetFrom(m) == nil:
		ip, port = xa.IP, xa.Port
	case xa.GetFromAs(m, attrXORMappedAddressOld) == nil:
		ip, port = xa.IP, xa.Port
	case ma.GetFrom(m) == nil:
		ip, port = ma.IP, ma.Port
	default:
		return txid, netip.AddrPort{}, errors.New("stun response has no mapped address")
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return txid, netip.AddrPort{}, fmt.Errorf("stun mapped address has %d bytes", len(ip))
	}
	return txid, netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

// stunServer is the state of one server during a probe.
type stunServer struct {
	idx   int
	src   Source
	addr  netip.AddrPort
	txid  [stun.TransactionIDSize]byte
	req   []byte
	first time.Time
	sent  int
	done  bool
}

// probeSTUN sends Binding requests to every server from ONE unconnected
// socket, so the answers of different servers describe the same NAT mapping,
// retransmitting every rto (doubling) until each server answered or ctx
// ends. It emits exactly one Source per server.
func probeSTUN(ctx context.Context, servers []string, rto time.Duration, lookup LookupFunc, v6 bool, emit func(Source)) {
	var live []*stunServer
	for i, s := range servers {
		src := Source{Method: MethodSTUN, Server: s, order: i}
		ap, err := resolveServer(ctx, lookup, s, defaultSTUNPort, v6)
		if err != nil {
			src.Err = describe(ctx, err)
			emit(src)
			continue
		}
		src.ServerAddr = ap
		req, txid, err := BindingRequest()
		if err != nil {
			src.Err = err.Error()
			emit(src)
			continue
		}
		live = append(live, &stunServer{idx: i, src: src, addr: ap, txid: txid, req: req})
	}
	if len(live) == 0 {
		return
	}
	fail := func(err string) {
		for _, s := range live {
			if !s.done {
				s.done = true
				s.src.Err = err
				emit(s.src)
			}
		}
	}
	conn, err := net.ListenUDP(network("udp", v6), nil)
	if err != nil {
		fail(describe(ctx, err))
		return
	}
	localPort := conn.LocalAddr().(*net.UDPAddr).Port
	for _, s := range live {
		s.src.LocalPort = localPort
	}
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(ioutil.ALongTimeAgo) })
	defer stop()

	packets := make(chan stunPacket, 8)
	readDone := make(chan struct{})
	go readSTUN(conn, packets, readDone)
	defer func() {
		conn.Close()
		<-readDone
	}()

	pending := len(live)
	next := time.Now()
	interval := rto
	timer := time.NewTimer(0)
	defer timer.Stop()
	for pending > 0 {
		select {
		case <-ctx.Done():
			for _, s := range live {
				if !s.done {
					s.done = true
					s.src.Err = describe(ctx, ctx.Err())
					if s.sent > 0 && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
						s.src.Err = fmt.Sprintf("timeout: no answer to %d requests", s.sent)
					}
					emit(s.src)
				}
			}
			return
		case <-timer.C:
			for _, s := range live {
				if s.done || s.sent >= stunRetransmits {
					continue
				}
				if s.sent == 0 {
					s.first = time.Now()
				}
				s.sent++
				if _, err := conn.WriteToUDPAddrPort(s.req, s.addr); err != nil {
					s.done = true
					pending--
					s.src.Err = describe(ctx, err)
					emit(s.src)
				}
			}
			next = next.Add(interval)
			interval *= 2
			timer.Reset(time.Until(next))
		case p, ok := <-packets:
			if !ok {
				if ctx.Err() == nil {
					fail("read: socket closed")
					return
				}
				packets = nil // the ctx.Done case reports the cause
				continue
			}
			txid, mapped, err := ParseBindingResponse(p.data)
			if errors.Is(err, ErrNotSTUN) {
				continue // stray datagram; answers are matched by transaction ID only
			}
			for _, s := range live {
				if s.done || s.txid != txid {
					continue
				}
				s.done = true
				pending--
				s.src.RTT = p.at.Sub(s.first)
				if err != nil {
					s.src.Err = err.Error()
				} else {
					s.src.Address = mapped.Addr()
					s.src.MappedPort = int(mapped.Port())
				}
				emit(s.src)
			}
		}
	}
}

type stunPacket struct {
	data []byte
	at   time.Time
}

// readSTUN reads datagrams until the socket is closed or its deadline hits.
// It is a named function so it is recognisable in goroutine dumps.
func readSTUN(conn *net.UDPConn, out chan<- stunPacket, done chan<- struct{}) {
	defer close(done)
	defer close(out)
	buf := make([]byte, 1500)
	for errs := 0; errs < 100; {
		n, _, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			errs++
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket; keep reading
		}
		p := stunPacket{data: append([]byte(nil), buf[:n]...), at: time.Now()}
		select {
		case out <- p:
		default: // the prober is gone or flooded; drop
		}
	}
}
