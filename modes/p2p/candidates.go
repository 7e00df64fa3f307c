package p2p

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/pion/stun/v3"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

// PortMapper asks the router for a mapping of a local UDP port (--map-port:
// NAT-PMP, PCP or UPnP). It returns the external address the router
// forwards to internalPort. The session does not remove the mapping; the
// mapper owns its lifetime.
type PortMapper interface {
	MapUDP(ctx context.Context, internalPort int) (netip.AddrPort, error)
}

// stunRTO is the first retransmission interval of a STUN Binding request;
// it doubles, and gathering gives up after stunGatherTime.
const (
	stunRTO        = 200 * time.Millisecond
	stunGatherTime = 1500 * time.Millisecond
)

// interfaceAddrs lists the addresses of the local interfaces that a peer
// could reach: IPv4 except loopback and link-local, IPv6 global unicast and
// unique-local.
func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	var out []netip.Addr
	for _, a := range as {
		p, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := p.Addr().Unmap()
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
			continue
		}
		out = append(out, ip)
	}
	return out, nil
}

// hostCandidates pairs every local address with the socket's port.
func hostCandidates(addrs []netip.Addr, port uint16) []Candidate {
	var out []Candidate
	for _, a := range addrs {
		out = append(out, Candidate{Kind: CandHost, Addr: netip.AddrPortFrom(a, port)})
	}
	return out
}

// stunCandidates asks every STUN server, from the session's main socket,
// which address it sees, retransmitting with a doubling interval until all
// answered or stunGatherTime passed. Answers arrive through pkts (the
// socket's non-QUIC datagrams). Servers that fail are reported to logf and
// skipped: a missing mapped address only removes one path.
func stunCandidates(ctx context.Context, s *pathSocket, pkts <-chan packet, servers []string, logf func(string, ...any)) []Candidate {
	type req struct {
		server string
		to     netip.AddrPort
		msg    []byte
		txid   [stun.TransactionIDSize]byte
		done   bool
	}
	var reqs []*req
	for _, srv := range servers {
		ap, err := resolveHostPort(ctx, srv, 3478)
		if err != nil {
			logf("stun %s: %v", srv, err)
			continue
		}
		msg, txid, err := publicip.BindingRequest()
		if err != nil {
			logf("stun %s: %v", srv, err)
			continue
		}
		reqs = append(reqs, &req{server: srv, to: ap, msg: msg, txid: txid})
	}
	if len(reqs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, stunGatherTime)
	defer cancel()
	var out []Candidate
	pending := len(reqs)
	interval := stunRTO
	timer := time.NewTimer(0)
	defer timer.Stop()
	for pending > 0 {
		select {
		case <-ctx.Done():
			logf("stun: %d of %d servers did not answer", pending, len(reqs))
			return out
		case <-timer.C:
			for _, r := range reqs {
				if !r.done {
					s.send(r.msg, r.to)
				}
			}
			timer.Reset(interval)
			interval *= 2
		case p := <-pkts:
			txid, mapped, err := publicip.ParseBindingResponse(p.data)
			if err != nil {
				continue
			}
			for _, r := range reqs {
				if r.done || r.txid != txid || p.from != r.to {
					continue
				}
				r.done = true
				pending--
				out = addCandidate(out, Candidate{Kind: CandMapped, Addr: mapped})
				logf("stun %s: mapped address %s", r.server, mapped)
			}
		}
	}
	return out
}

// addCandidate appends c unless its address is already listed.
func addCandidate(cs []Candidate, c Candidate) []Candidate {
	for _, x := range cs {
		if x.Addr == c.Addr {
			return cs
		}
	}
	return append(cs, c)
}

// resolveHostPort turns "host[:port]" into one address (IPv4 first: NATs
// are an IPv4 affair).
func resolveHostPort(ctx context.Context, hostport string, defPort int) (netip.AddrPort, error) {
	host, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		host, ps = hostport, strconv.Itoa(defPort)
	}
	port, err := strconv.ParseUint(ps, 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", ps)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	best := netip.Addr{}
	for _, a := range addrs {
		a = a.Unmap()
		if !best.IsValid() || (a.Is4() && !best.Is4()) {
			best = a
		}
	}
	if !best.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("%s has no address", host)
	}
	return netip.AddrPortFrom(best, uint16(port)), nil
}

// pathKind names the path to a remote address: "lan" when it is a private
// address of the peer's own interfaces, "relay" through a relay, "direct"
// otherwise.
func pathKind(remote []Candidate, addr netip.AddrPort, viaRelay bool) string {
	if viaRelay {
		return "relay"
	}
	for _, c := range remote {
		if c.Addr != addr {
			continue
		}
		switch {
		case c.Kind == CandRelay:
			return "relay"
		case c.Kind == CandHost && isLocalScope(c.Addr.Addr()):
			return "lan"
		}
	}
	return "direct"
}

// isLocalScope reports addresses that only a neighbour can reach.
func isLocalScope(a netip.Addr) bool {
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.Is4() && isCGNAT(a)
}

// isCGNAT reports 100.64.0.0/10 (RFC 6598), the carriers' shared space.
func isCGNAT(a netip.Addr) bool {
	b := a.As4()
	return b[0] == 100 && b[1]&0xc0 == 64
}

// mappingVaries reports whether STUN servers saw different addresses for
// one socket and family: the NAT maps ports (or addresses) per destination,
// so the address one server saw is useless to the peer.
func mappingVaries(cands []Candidate) bool {
	seen := map[bool]netip.AddrPort{}
	for _, c := range cands {
		if c.Kind != CandMapped {
			continue
		}
		v6 := c.Addr.Addr().Is6()
		if prev, ok := seen[v6]; ok && prev != c.Addr {
			return true
		}
		seen[v6] = c.Addr
	}
	return false
}

// hasMapped reports whether a STUN server answered.
func hasMapped(cands []Candidate) bool {
	for _, c := range cands {
		if c.Kind == CandMapped {
			return true
		}
	}
	return false
}
