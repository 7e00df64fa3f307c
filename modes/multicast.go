package modes

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// group is one parsed --join GROUP[%IFACE].
type group struct {
	addr  netip.Addr
	iface string // "" = the interface the routing table picks
}

func (g group) String() string {
	if g.iface == "" {
		return g.addr.String()
	}
	return g.addr.String() + "%" + g.iface
}

// parseGroup reads GROUP[%IFACE]: an IPv4 or IPv6 multicast address,
// optionally followed by an interface name or index.
func parseGroup(s string) (group, error) {
	host, iface, _ := strings.Cut(s, "%")
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsMulticast() {
		return group{}, fmt.Errorf("--join %q: want a multicast address (224.0.0.0/4 or ff00::/8), optionally %%IFACE", s)
	}
	if strings.Contains(s, "%") && iface == "" {
		return group{}, fmt.Errorf("--join %q: empty interface after %%", s)
	}
	return group{addr: a.Unmap(), iface: iface}, nil
}

// lookupIface finds an interface by name or index.
func lookupIface(name string) (*net.Interface, error) {
	if name == "" {
		return nil, nil
	}
	if i, err := strconv.Atoi(name); err == nil {
		return net.InterfaceByIndex(i)
	}
	return net.InterfaceByName(name)
}

// joinGroups joins the --join multicast groups on a UDP listener. IPv4
// groups work on a dual-stack socket too (Linux accepts IPv4 memberships on
// an IPv6 socket); the socket must be bound to the wildcard address or to the
// group itself for the group's datagrams to reach it.
func joinGroups(cfg *Config, stdio Stdio, c net.Conn) error {
	if len(cfg.Net.Join) == 0 {
		return nil
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return errors.New("--join needs a UDP socket")
	}
	for _, s := range cfg.Net.Join {
		g, err := parseGroup(s)
		if err != nil {
			return err
		}
		ifi, err := lookupIface(g.iface)
		if err != nil {
			return fmt.Errorf("--join %s: interface %q: %w", s, g.iface, reason(err))
		}
		ga := &net.UDPAddr{IP: g.addr.AsSlice()}
		if g.addr.Is4() {
			err = ipv4.NewPacketConn(uc).JoinGroup(ifi, ga)
		} else {
			err = ipv6.NewPacketConn(uc).JoinGroup(ifi, ga)
		}
		if err != nil {
			return describe("join", g.String(), err)
		}
		logf(cfg, stdio, "joined multicast group %s", g)
	}
	return nil
}

// checkJoin validates the --join values before any socket exists.
func checkJoin(groups []string) error {
	for _, s := range groups {
		if _, err := parseGroup(s); err != nil {
			return err
		}
	}
	return nil
}
