package netinfo

import (
	"fmt"
	"net"
	"net/netip"
)

// Route-probe destinations: documentation addresses (RFC 5737, RFC 3849).
// connect(2) on a UDP socket only looks up the route; no packet is sent, so
// these addresses are never contacted.
const (
	probeDest4 = "203.0.113.1:9"
	probeDest6 = "[2001:db8::1]:9"
)

// RouteProbe returns the source address the kernel would use to reach the
// internet over IPv4 (v6 false) or IPv6 (v6 true). It connects a UDP socket
// and reads its local address; nothing is sent. An error such as "network is
// unreachable" means the family has no route: no primary address, not a
// failure of the command.
func RouteProbe(v6 bool) (netip.Addr, error) {
	network, dest := "udp4", probeDest4
	if v6 {
		network, dest = "udp6", probeDest6
	}
	c, err := net.Dial(network, dest)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route probe: %w", err)
	}
	defer c.Close()
	ua, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, fmt.Errorf("route probe: unexpected local address %v", c.LocalAddr())
	}
	return ua.AddrPort().Addr().Unmap(), nil
}
