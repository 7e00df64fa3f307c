package portmap

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Route is one IPv4 default route: the gateway, the interface and the
// metric.
type Route struct {
	Iface   string
	Gateway netip.Addr
	Metric  int
}

// ParseProcRoutes reads Linux's /proc/net/route and returns its default
// routes (destination and mask 0.0.0.0, flags up and gateway), in file order.
func ParseProcRoutes(r io.Reader) ([]Route, error) {
	const rtfUp, rtfGateway = 0x1, 0x2
	sc := bufio.NewScanner(r)
	var out []Route
	for line := 0; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if line == 0 || len(f) < 8 {
			continue // the header, or a line that is not a route
		}
		dst, err1 := hexAddr(f[1])
		gw, err2 := hexAddr(f[2])
		flags, err3 := strconv.ParseUint(f[3], 16, 32)
		metric, err4 := strconv.Atoi(f[6])
		mask, err5 := hexAddr(f[7])
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return nil, fmt.Errorf("route table line %d: %w", line+1, err)
		}
		if dst.IsUnspecified() && mask.IsUnspecified() && flags&(rtfUp|rtfGateway) == rtfUp|rtfGateway {
			out = append(out, Route{Iface: f[0], Gateway: gw, Metric: metric})
		}
	}
	return out, sc.Err()
}

// hexAddr decodes the little-endian hex of /proc/net/route.
func hexAddr(s string) (netip.Addr, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		return netip.Addr{}, fmt.Errorf("bad address %q", s)
	}
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], binary.LittleEndian.Uint32(b))
	return netip.AddrFrom4(a), nil
}

// PickRoute chooses the default route a listener on iface would answer
// through: the lowest metric among iface's routes, or among all when iface
// is empty or has none.
func PickRoute(routes []Route, iface string) (Route, bool) {
	best, found := Route{}, false
	for pass := 0; pass < 2 && !found; pass++ {
		for _, r := range routes {
			if pass == 0 && (iface == "" || r.Iface != iface) {
				continue
			}
			if !found || r.Metric < best.Metric {
				best, found = r, true
			}
		}
	}
	return best, found
}

// ifaceOf names the interface holding a, "" when a is unspecified or not
// local.
func ifaceOf(a netip.Addr) string {
	if !a.IsValid() || a.IsUnspecified() {
		return ""
	}
	ifs, _ := net.Interfaces()
	for _, ifc := range ifs {
		addrs, _ := ifc.Addrs()
		for _, ad := range addrs {
			if p, err := netip.ParsePrefix(ad.String()); err == nil && p.Addr().Unmap() == a {
				return ifc.Name
			}
		}
	}
	return ""
}

// localAddrTo is the source address the kernel picks for gw (no packet is
// sent).
func localAddrTo(gw netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(gw, ServerPort)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("route to gateway %s: %w", gw, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// FindGateway returns the IPv4 default gateway of the route a listener
// bound to bound (unspecified: any) would use, and this host's address on
// that route.
func FindGateway(bound netip.Addr) (gw, local netip.Addr, err error) {
	bound = bound.Unmap()
	if bound.IsValid() && !bound.Is4() && !bound.IsUnspecified() {
		return gw, local, errors.New("NAT-PMP, PCP and UPnP mappings need an IPv4 listener")
	}
	gw, err = systemGateway(ifaceOf(bound))
	if err != nil {
		return gw, local, err
	}
	if bound.IsValid() && !bound.IsUnspecified() {
		return gw, bound, nil
	}
	local, err = localAddrTo(gw)
	return gw, local, err
}
