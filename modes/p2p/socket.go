package p2p

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"github.com/quic-go/quic-go"
)

// packet is a non-QUIC datagram (a probe or a STUN answer) read from one of
// the session's sockets.
type packet struct {
	sock *pathSocket
	data []byte
	from netip.AddrPort
}

// pathSocket is one UDP socket of a session: the main socket that punches
// and carries QUIC, or a socket relayed through TURN. QUIC owns its reads;
// the datagrams that are not QUIC reach the session through [pathSocket.run].
type pathSocket struct {
	tr    *quic.Transport
	relay bool           // the socket is a TURN allocation
	addr  netip.AddrPort // relay: the relayed address; main: the bound address

	out  chan outgoing // relay sockets: writes that may block on TURN permissions
	wg   sync.WaitGroup
	stop context.CancelFunc
}

type outgoing struct {
	b  []byte
	to netip.AddrPort
}

// newPathSocket wraps pc in a QUIC transport and starts reading the non-QUIC
// datagrams into pkts until close.
func newPathSocket(pc net.PacketConn, relay bool, addr netip.AddrPort, pkts chan<- packet) *pathSocket {
	s := &pathSocket{tr: &quic.Transport{Conn: pc}, relay: relay, addr: addr}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.wg.Add(1)
	go readNonQUIC(ctx, s, pkts, &s.wg)
	if relay {
		s.out = make(chan outgoing, 64)
		s.wg.Add(1)
		go writeQueued(ctx, s, &s.wg)
	}
	return s
}

// send writes b to to. On a relay socket the write is queued, because the
// first datagram to an address waits for the TURN server to grant a
// permission; a full queue drops (probes are repeated anyway).
func (s *pathSocket) send(b []byte, to netip.AddrPort) {
	if s.out != nil {
		select {
		case s.out <- outgoing{b, to}:
		default:
		}
		return
	}
	s.tr.WriteTo(b, net.UDPAddrFromAddrPort(to)) // best effort: a lost probe is sent again
}

// stopReading ends the reader (and writer) goroutines; QUIC keeps the
// socket. It waits for them.
func (s *pathSocket) stopReading() {
	s.stop()
	s.wg.Wait()
}

// close stops the goroutines and closes the transport and its socket.
func (s *pathSocket) close() {
	s.stopReading()
	s.tr.Close()
	s.tr.Conn.Close()
}

// readNonQUIC forwards the non-QUIC datagrams of s to pkts until ctx ends.
func readNonQUIC(ctx context.Context, s *pathSocket, pkts chan<- packet, wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.tr.ReadNonQUICPacket(ctx, buf)
		if err != nil {
			return
		}
		ap := addrPortOf(from)
		if !ap.IsValid() {
			continue
		}
		select {
		case pkts <- packet{sock: s, data: append([]byte(nil), buf[:n]...), from: ap}:
		case <-ctx.Done():
			return
		}
	}
}

// writeQueued sends the queued datagrams of a relay socket.
func writeQueued(ctx context.Context, s *pathSocket, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case o := <-s.out:
			s.tr.WriteTo(o.b, net.UDPAddrFromAddrPort(o.to))
		case <-ctx.Done():
			return
		}
	}
}

// addrPortOf returns a UDP address as an unmapped netip.AddrPort.
func addrPortOf(a net.Addr) netip.AddrPort {
	u, ok := a.(*net.UDPAddr)
	if !ok || u == nil {
		return netip.AddrPort{}
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// listenUDP opens the session's socket: any address, both families.
func listenUDP() (*net.UDPConn, error) {
	return net.ListenUDP("udp", &net.UDPAddr{})
}
