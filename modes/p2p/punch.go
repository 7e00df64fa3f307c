package p2p

import (
	"crypto/rand"
	"net/netip"
	"time"
)

// Punching: both sides send authenticated requests from ONE socket to every
// candidate of the other at once, and answer every authenticated request
// they receive. Outgoing requests open the local NAT's mapping towards the
// peer; an answer proves that the pair works both ways. The joiner takes
// the first pair that answered; the creator only answers, and accepts the
// QUIC connection that the joiner then opens on that pair.

// punchInterval is the pace of the requests after the first burst.
const (
	punchInterval  = 100 * time.Millisecond
	maxPending     = 4096 // outstanding requests remembered
	pendingTTL     = 3 * time.Second
	maxPeerDerived = 8 // peer-reflexive candidates learnt from probes
)

// punchKeyLabel is the label of the probe key exported from the PAKE.
const punchKeyLabel = "sockcat p2p probe key v1"

// choice is a pair that worked: send from sock to remote.
type choice struct {
	sock   *pathSocket
	remote netip.AddrPort
}

type pendingReq struct {
	sock *pathSocket
	to   netip.AddrPort
	at   time.Time
}

// puncher holds the state of punching. It is used from one goroutine.
type puncher struct {
	key     []byte
	role    Role
	socks   []*pathSocket
	remote  []Candidate
	learnt  int
	pending map[[8]byte]pendingReq
	sent    int // requests sent, for the failure message
	valid   int // authenticated probes received
	hooks   testHooks
}

// testHooks let the loopback tests force the relay path.
type testHooks struct {
	dropDirect bool // ignore probes that did not cross a relay
	relayLocal bool // let relays probe local-scope addresses (loopback)
}

func newPuncher(key []byte, role Role, remote []Candidate) *puncher {
	return &puncher{key: key, role: role, remote: append([]Candidate(nil), remote...), pending: map[[8]byte]pendingReq{}}
}

func (p *puncher) addSocket(s *pathSocket) { p.socks = append(p.socks, s) }

func (p *puncher) addRemote(c Candidate) { p.remote = addCandidate(p.remote, c) }

// usable reports whether sock should probe c: a relay reaches only public
// addresses, and relaying to the peer's relay is never needed.
func (p *puncher) usable(sock *pathSocket, c Candidate) bool {
	if sock.relay {
		return c.Kind != CandRelay && (p.hooks.relayLocal || !isLocalScope(c.Addr.Addr()))
	}
	return true
}

// tick sends one request on every usable pair and forgets stale requests.
func (p *puncher) tick(now time.Time) {
	for id, r := range p.pending {
		if now.Sub(r.at) > pendingTTL {
			delete(p.pending, id)
		}
	}
	for _, s := range p.socks {
		for _, c := range p.remote {
			if !p.usable(s, c) || len(p.pending) >= maxPending {
				continue
			}
			var id [8]byte
			rand.Read(id[:])
			p.pending[id] = pendingReq{sock: s, to: c.Addr, at: now}
			s.send(encodeProbe(p.key, probe{Kind: probeReq, Role: p.role, TxID: id}), c.Addr)
			p.sent++
		}
	}
}

// handle processes one datagram. It answers requests and returns the pair
// when pkt is the answer to one of our requests.
func (p *puncher) handle(pkt packet) (choice, bool) {
	pr, err := parseProbe(p.key, pkt.data)
	if err != nil || pr.Role == p.role { // our own probe reflected back is no proof
		return choice{}, false
	}
	if p.hooks.dropDirect && !pkt.sock.relay && !p.isRelay(pkt.from) {
		return choice{}, false
	}
	p.valid++
	switch pr.Kind {
	case probeReq:
		pkt.sock.send(encodeProbe(p.key, probe{Kind: probeResp, Role: p.role, TxID: pr.TxID}), pkt.from)
		p.learn(pkt.from)
	case probeResp:
		r, ok := p.pending[pr.TxID]
		if !ok || r.sock != pkt.sock || r.to != pkt.from {
			return choice{}, false
		}
		delete(p.pending, pr.TxID)
		return choice{sock: pkt.sock, remote: pkt.from}, true
	}
	return choice{}, false
}

// learn adds the source of an authenticated request as a candidate: behind
// some NATs it is the only address that answers (a peer-reflexive address).
func (p *puncher) learn(from netip.AddrPort) {
	for _, c := range p.remote {
		if c.Addr == from {
			return
		}
	}
	if p.learnt < maxPeerDerived {
		p.learnt++
		p.remote = append(p.remote, Candidate{Kind: CandPeer, Addr: from})
	}
}

func (p *puncher) isRelay(a netip.AddrPort) bool {
	for _, c := range p.remote {
		if c.Addr == a && c.Kind == CandRelay {
			return true
		}
	}
	return false
}
