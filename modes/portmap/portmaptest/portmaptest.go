// Package portmaptest is a fake NAT-PMP and PCP server on one UDP socket,
// as miniupnpd serves both on port 5351, for the tests of package portmap.
// It records every request and answers from a policy the test sets.
package portmaptest

import (
	"net"
	"net/netip"
	"sync"

	"github.com/sockcat/sockcat/modes/portmap"
)

// Request is one request the server received, decoded.
type Request struct {
	PCP    *portmap.PCPMessage    // set for a PCP request
	NATPMP *portmap.NATPMPMessage // set for a NAT-PMP request
}

// Server is the fake. The zero policy grants every mapping at the
// suggested (or the internal) port with the lifetime asked for.
type Server struct {
	Addr       netip.AddrPort
	ExternalIP netip.Addr

	mu       sync.Mutex
	requests []Request
	// Policy fields; set them before the requests they should affect.
	pcpResult    portmap.PCPResult
	natpmpResult portmap.NATPMPResult
	noPCP        bool   // answer PCP as a NAT-PMP-only server does
	portShift    uint16 // grant internal port + portShift
	maxLifetime  uint32 // cap the lifetime granted (0: no cap)
	silent       bool   // answer nothing
	natpmpShift  uint16 // added to portShift for NAT-PMP grants
	silentNATPMP bool   // answer no NAT-PMP mapping request
	conn         *net.UDPConn
	done         chan struct{}
}

// Start listens on addr (e.g. "127.3.4.5:5351") and serves until Close.
func Start(addr string, external netip.Addr) (*Server, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), ExternalIP: external, conn: c, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// Close stops the server and waits for it.
func (s *Server) Close() {
	s.conn.Close()
	<-s.done
}

// Refuse makes every later mapping request fail with these codes.
func (s *Server) Refuse(pcp portmap.PCPResult, natpmp portmap.NATPMPResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pcpResult, s.natpmpResult = pcp, natpmp
}

// Set changes the rest of the policy.
func (s *Server) Set(noPCP, silent bool, portShift uint16, maxLifetime uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noPCP, s.silent, s.portShift, s.maxLifetime = noPCP, silent, portShift, maxLifetime
}

// ShiftNATPMP makes NAT-PMP grant internal port + portShift + n.
func (s *Server) ShiftNATPMP(n uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.natpmpShift = n
}

// SilenceNATPMP makes the server ignore NAT-PMP mapping requests (a
// deletion, lifetime 0, included) while still answering PCP.
func (s *Server) SilenceNATPMP() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silentNATPMP = true
}

// Requests returns a copy of the requests so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if reply := s.handle(buf[:n]); reply != nil {
			s.conn.WriteToUDPAddrPort(reply, from)
		}
	}
}

func (s *Server) handle(b []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) > 0 && b[0] == portmap.PCPVersion {
		m, err := portmap.ParsePCP(b)
		if err != nil {
			return nil
		}
		s.requests = append(s.requests, Request{PCP: m})
		if s.silent {
			return nil
		}
		if s.noPCP { // RFC 6886 §3.5: version 0, result 1
			r, _ := (&portmap.NATPMPMessage{Response: true, Opcode: 0, Result: 1}).Marshal()
			return r[:8]
		}
		return s.pcpReply(m)
	}
	m, err := portmap.ParseNATPMP(b)
	if err != nil {
		return nil
	}
	s.requests = append(s.requests, Request{NATPMP: m})
	if s.silent || (s.silentNATPMP && m.Opcode != portmap.NATPMPOpExternal) {
		return nil
	}
	return s.natpmpReply(m)
}

func (s *Server) lifetime(asked uint32) uint32 {
	if s.maxLifetime != 0 && asked > s.maxLifetime {
		return s.maxLifetime
	}
	return asked
}

func (s *Server) pcpReply(m *portmap.PCPMessage) []byte {
	r := &portmap.PCPMessage{Response: true, Opcode: m.Opcode, Result: s.pcpResult, Epoch: 1}
	if m.Opcode == portmap.PCPOpMap && m.Map != nil {
		mp := *m.Map
		mp.ExternalIP = s.ExternalIP
		mp.ExternalPort = m.Map.InternalPort + s.portShift
		r.Map, r.Lifetime = &mp, s.lifetime(m.Lifetime)
		if m.Lifetime == 0 {
			r.Result = portmap.PCPSuccess // deletion always succeeds
		}
	} else {
		r.Result = portmap.PCPSuccess
	}
	b, _ := r.Marshal()
	return b
}

func (s *Server) natpmpReply(m *portmap.NATPMPMessage) []byte {
	r := &portmap.NATPMPMessage{Response: true, Opcode: m.Opcode, Epoch: 1}
	if m.Opcode == portmap.NATPMPOpExternal {
		r.ExternalIP = s.ExternalIP
	} else {
		r.Result = s.natpmpResult
		if m.Lifetime == 0 {
			r.Result = 0
		}
		r.InternalPort, r.ExternalPort, r.Lifetime = m.InternalPort, m.InternalPort+s.portShift+s.natpmpShift, s.lifetime(m.Lifetime)
		if m.Lifetime == 0 {
			r.ExternalPort = 0
		}
	}
	b, _ := r.Marshal()
	return b
}
