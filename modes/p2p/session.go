package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Keyed is what [Connect] needs from the PAKE: the encrypted mailbox and
// keys derived from its session key. [*Secure] is one.
type Keyed interface {
	Mailbox
	ExportKey(label string, n int) []byte
}

// Options tune [Connect].
type Options struct {
	STUN         []string      // STUN servers, host[:port], asked from the punching socket
	Relays       []RelayURL    // TURN relays, tried in order after PunchTimeout
	MapPort      PortMapper    // --map-port: nil for none
	PunchTimeout time.Duration // how long direct paths are tried before a relay; 0 means 5s
	// Logf receives -v events; nil discards them.
	Logf func(format string, args ...any)
	// Interfaces lists the local addresses offered as host candidates; nil
	// means the system's interfaces.
	Interfaces func() ([]netip.Addr, error)

	hooks testHooks
}

// DefaultPunchTimeout is how long direct paths are tried before a relay.
const DefaultPunchTimeout = 5 * time.Second

// Bounds of the steps after the PAKE (the wait for the peer before it is
// the caller's).
const (
	helloTimeout = 20 * time.Second // the peer's candidates after ours
	relayTimeout = 10 * time.Second // a path through the relay once allocated
	dialTimeout  = 10 * time.Second // the QUIC handshake on the chosen pair
	mapTimeout   = 3 * time.Second  // --map-port
)

// ErrNoPath is wrapped by the error of a session that found no path.
var ErrNoPath = errors.New("no path to the peer")

// session is the state of one [Connect].
type session struct {
	opt    Options
	role   Role
	mb     Keyed
	id     *identity
	peer   hello
	local  hello
	pkts   chan packet
	main   *pathSocket
	relay  *relayAlloc
	p      *puncher
	msgs   chan mailMsg
	cancel context.CancelFunc
	done   chan struct{} // the mailbox reader ended
}

type mailMsg struct {
	b   []byte
	err error
}

// Connect finds a path to the peer at the other end of mb and returns the
// encrypted stream over it. The creator answers and accepts; the joiner
// chooses the pair and dials. Both exchange candidates and certificate
// fingerprints inside mb, so only the holder of the code can connect.
func Connect(ctx context.Context, mb Keyed, role Role, opt Options) (*Conn, error) {
	if opt.PunchTimeout <= 0 {
		opt.PunchTimeout = DefaultPunchTimeout
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.Interfaces == nil {
		opt.Interfaces = interfaceAddrs
	}
	s := &session{opt: opt, role: role, mb: mb, pkts: make(chan packet, 64)}
	var err error
	if s.id, err = newIdentity(); err != nil {
		return nil, err
	}
	uc, err := listenUDP()
	if err != nil {
		return nil, fmt.Errorf("p2p: open udp socket: %w", err)
	}
	s.main = newPathSocket(uc, false, addrPortOf(uc.LocalAddr()), s.pkts)
	c, err := s.run(ctx)
	if err != nil {
		s.closeAll()
		return nil, err
	}
	return c, nil
}

func (s *session) run(ctx context.Context) (*Conn, error) {
	if err := s.exchange(ctx); err != nil {
		return nil, err
	}
	s.p = newPuncher(s.mb.ExportKey(punchKeyLabel, 32), s.role, s.peer.Candidates)
	s.p.hooks = s.opt.hooks
	s.p.addSocket(s.main)
	mctx, cancel := context.WithCancel(ctx)
	s.cancel, s.msgs, s.done = cancel, make(chan mailMsg, 4), make(chan struct{})
	go readMailbox(mctx, s.mb, s.msgs, s.done)
	defer s.stopMailbox()
	if s.role == RoleCreator {
		return s.create(ctx)
	}
	return s.join(ctx)
}

func (s *session) stopMailbox() {
	s.cancel()
	<-s.done
}

// readMailbox passes the peer's messages to out until ctx ends or Recv fails.
func readMailbox(ctx context.Context, mb Mailbox, out chan<- mailMsg, done chan<- struct{}) {
	defer close(done)
	for {
		b, err := mb.Recv(ctx)
		select {
		case out <- mailMsg{b, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// exchange gathers our candidates, sends our hello and reads the peer's.
func (s *session) exchange(ctx context.Context) error {
	cands, err := s.gather(ctx)
	if err != nil {
		return err
	}
	h := hello{Fingerprint: s.id.fp, Relay: len(s.opt.Relays) > 0, Candidates: cands,
		Varies: mappingVaries(cands), Mapped: hasMapped(cands)}
	s.local = h
	for _, c := range cands {
		s.opt.Logf("candidate %s %s", c.Kind, c.Addr)
	}
	if err := s.mb.Send(ctx, encodeHello(h)); err != nil {
		return fmt.Errorf("p2p: send candidates: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, helloTimeout)
	defer cancel()
	b, err := s.mb.Recv(rctx)
	if err != nil {
		return fmt.Errorf("p2p: receive the peer's candidates: %w", err)
	}
	if s.peer, err = decodeHello(b); err != nil {
		return fmt.Errorf("p2p: the peer's candidates: %w", err)
	}
	return nil
}

// gather lists our candidates: interfaces, the router mapping, STUN.
func (s *session) gather(ctx context.Context) ([]Candidate, error) {
	port := s.main.addr.Port()
	addrs, err := s.opt.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("p2p: %w", err)
	}
	// The router's and the NAT's addresses first: past maxCandidates, the
	// interfaces (docker bridges and the like) are the ones left out.
	var cands []Candidate
	if s.opt.MapPort != nil {
		mctx, cancel := context.WithTimeout(ctx, mapTimeout)
		ap, err := s.opt.MapPort.MapUDP(mctx, int(port))
		cancel()
		if err != nil {
			s.opt.Logf("map-port: %v", err)
		} else {
			cands = addCandidate(cands, Candidate{Kind: CandPortMap, Addr: ap})
		}
	}
	for _, c := range stunCandidates(ctx, s.main, s.pkts, s.opt.STUN, s.opt.Logf) {
		cands = addCandidate(cands, c)
	}
	for _, c := range hostCandidates(addrs, port) {
		cands = addCandidate(cands, c)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if len(cands) > maxCandidates {
		cands = cands[:maxCandidates]
	}
	return cands, nil
}

// relayer says which side allocates a relay after a failed punch: the
// joiner if it has relays, else the creator if it has, else nobody.
func (s *session) relayer() Role {
	switch {
	case s.role == RoleJoiner && len(s.opt.Relays) > 0, s.role == RoleCreator && s.peer.Relay:
		return RoleJoiner
	case s.role == RoleCreator && len(s.opt.Relays) > 0, s.role == RoleJoiner && s.peer.Relay:
		return RoleCreator
	}
	return 0
}

// noPath is the error when neither punching nor a relay gave a path.
func (s *session) noPath() error {
	return fmt.Errorf("p2p: %w within %v: %s (%d probes to %d addresses, %d authentic received); --relay turn://USER:PASS@HOST:PORT would help",
		ErrNoPath, s.opt.PunchTimeout, whyNoPath(s.local, s.peer), s.p.sent, len(s.p.remote), s.p.valid)
}

// whyNoPath names the likely reason from what each side learnt from STUN.
func whyNoPath(local, peer hello) string {
	switch {
	case local.Varies && peer.Varies:
		return "both NATs map ports per destination"
	case local.Varies:
		return "this side's NAT maps ports per destination"
	case peer.Varies:
		return "the peer's NAT maps ports per destination"
	case !local.Mapped && !peer.Mapped:
		return "no STUN server answered either side, so only their local addresses were tried"
	case !local.Mapped:
		return "no STUN server answered this side, so only its local addresses were offered"
	case !peer.Mapped:
		return "no STUN server answered the peer, so only its local addresses were offered"
	}
	return "no answer through either NAT; one of them probably maps ports per destination"
}

// allocate makes our relay allocation, tells the peer about it (or why it
// failed) and starts punching from it.
func (s *session) allocate(ctx context.Context) error {
	a, err := allocateRelay(ctx, s.opt.Relays, s.pkts)
	if err != nil {
		s.mb.Send(ctx, encodeRelay(relayMsg{Err: err.Error()}))
		return fmt.Errorf("p2p: no direct path within %v, and the relay failed: %v", s.opt.PunchTimeout, err)
	}
	s.relay = a
	s.opt.Logf("relay allocation %s", a.sock.addr)
	if err := s.mb.Send(ctx, encodeRelay(relayMsg{Addr: a.sock.addr})); err != nil {
		return fmt.Errorf("p2p: send relay address: %w", err)
	}
	s.p.addSocket(a.sock)
	return nil
}

// peerRelay handles the peer's relay message.
func (s *session) peerRelay(b []byte) error {
	r, err := decodeRelay(b)
	if err != nil {
		return fmt.Errorf("p2p: the peer's relay message: %w", err)
	}
	if r.Err != "" {
		return fmt.Errorf("p2p: no direct path within %v and the peer's relay failed: %s", s.opt.PunchTimeout, r.Err)
	}
	s.opt.Logf("peer's relay allocation %s", r.Addr)
	s.p.addRemote(Candidate{Kind: CandRelay, Addr: r.Addr})
	return nil
}

// closeAll releases every socket and allocation.
func (s *session) closeAll() {
	if s.relay != nil {
		s.relay.close()
	}
	s.main.close()
}

// release is the Conn's cleanup: the sockets once QUIC is done with them.
func (s *session) release() { s.closeAll() }

// stopPunching ends the non-QUIC readers; QUIC keeps the sockets.
func (s *session) stopPunching() {
	s.main.stopReading()
	if s.relay != nil {
		s.relay.sock.stopReading()
	}
}

// pathOf describes the chosen pair.
func (s *session) pathOf(sock *pathSocket, remote netip.AddrPort) Path {
	p := Path{Kind: pathKind(s.p.remote, remote, sock.relay), Remote: remote}
	switch {
	case sock.relay:
		p.Local = sock.addr
	default:
		p.Local = localFor(remote, sock.addr.Port())
	}
	return p
}

// localFor is the local address the system routes to remote, with port:
// a connected UDP socket learns it without sending anything.
func localFor(remote netip.AddrPort, port uint16) netip.AddrPort {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(remote))
	if err != nil {
		return netip.AddrPortFrom(netip.IPv6Unspecified(), port)
	}
	defer c.Close()
	return netip.AddrPortFrom(addrPortOf(c.LocalAddr()).Addr(), port)
}

func udpAddr(ap netip.AddrPort) *net.UDPAddr { return net.UDPAddrFromAddrPort(ap) }
