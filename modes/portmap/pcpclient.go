package portmap

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// errNATPMPOnly is PCP's answer from a server that speaks NAT-PMP only.
var errNATPMPOnly = errors.New("server speaks NAT-PMP only")

// udpExchange sends req to server and returns the first reply that accept
// takes, retransmitting at 250 ms, 500 ms, 1 s … until ctx ends (RFC 6886
// §3.1 timing; RFC 6887's 3 s first retransmission is too slow here).
func udpExchange(ctx context.Context, server netip.AddrPort, req []byte, accept func([]byte) bool) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", server.String())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, pcpMaxMessage+4)
	for rto := 250 * time.Millisecond; ; rto *= 2 {
		if _, err := c.Write(req); err != nil {
			return nil, noAnswer(ctx, err)
		}
		c.SetReadDeadline(nextDeadline(ctx, rto))
		for {
			n, err := c.Read(buf)
			if err != nil {
				if isTimeout(err) && ctx.Err() == nil {
					break // retransmit
				}
				return nil, noAnswer(ctx, err)
			}
			if accept(buf[:n]) {
				return append([]byte(nil), buf[:n]...), nil
			}
		}
	}
}

// nextDeadline is now+rto, or ctx's deadline if sooner, or now if ctx is
// done (so that a deadline set after ctx's AfterFunc cannot outlive it).
func nextDeadline(ctx context.Context, rto time.Duration) time.Time {
	dl := time.Now().Add(rto)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	if ctx.Err() != nil {
		dl = time.Now()
	}
	return dl
}

// noAnswer words the error of a request that got no reply.
func noAnswer(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("no server (port unreachable)")
	case ctx.Err() != nil || isTimeout(err):
		return errors.New("no answer")
	}
	return err
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// pcpClient talks PCP to one server.
type pcpClient struct {
	server netip.AddrPort
	nonce  [12]byte
}

func newPCPClient(server netip.AddrPort) *pcpClient {
	c := &pcpClient{server: server}
	rand.Read(c.nonce[:])
	return c
}

// mapPort sends a MAP request (lifetime 0 deletes) and returns the granted
// mapping. clientIP is the address the server sees us from.
func (c *pcpClient) mapPort(ctx context.Context, clientIP netip.Addr, proto uint8, port, extPort uint16, lifetime uint32) (*PCPMap, uint32, error) {
	req := &PCPMessage{Opcode: PCPOpMap, Lifetime: lifetime, ClientIP: clientIP,
		Map: &PCPMap{Nonce: c.nonce, Protocol: proto, InternalPort: port, ExternalPort: extPort, ExternalIP: netip.IPv4Unspecified()}}
	b, err := req.Marshal()
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.exchange(ctx, b, PCPOpMap)
	if err != nil {
		return nil, 0, err
	}
	if resp.Map == nil || resp.Map.Nonce != c.nonce || resp.Map.Protocol != proto || resp.Map.InternalPort != port {
		return nil, 0, errors.New("reply does not match the request")
	}
	return resp.Map, resp.Lifetime, nil
}

// announce asks whether a PCP server is there (ANNOUNCE, RFC 6887 §14.1).
func (c *pcpClient) announce(ctx context.Context, clientIP netip.Addr) error {
	b, err := (&PCPMessage{Opcode: PCPOpAnnounce, ClientIP: clientIP}).Marshal()
	if err != nil {
		return err
	}
	_, err = c.exchange(ctx, b, PCPOpAnnounce)
	return err
}

// exchange sends b and returns the matching response, or an error naming
// the server's result code.
func (c *pcpClient) exchange(ctx context.Context, b []byte, op uint8) (*PCPMessage, error) {
	var resp *PCPMessage
	var natpmp bool
	_, err := udpExchange(ctx, c.server, b, func(r []byte) bool {
		if IsNATPMPReply(r) {
			natpmp = true
			return true
		}
		m, err := ParsePCP(r)
		if err != nil || !m.Response || m.Opcode != op {
			return false
		}
		if m.Map != nil && !bytes.Equal(m.Map.Nonce[:], c.nonce[:]) {
			return false
		}
		resp = m
		return true
	})
	switch {
	case err != nil:
		return nil, err
	case natpmp:
		return nil, errNATPMPOnly
	case resp.Result != PCPSuccess:
		return nil, fmt.Errorf("refused: %s", resp.Result)
	}
	return resp, nil
}
