//go:build !linux

package portmap

import (
	"fmt"
	"net/netip"

	"github.com/jackpal/gateway"
)

// systemGateway asks the system's routing table through
// github.com/jackpal/gateway (route, netstat or the Windows API). The
// interface hint is not used there.
func systemGateway(string) (netip.Addr, error) {
	ip, err := gateway.DiscoverGateway()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("default gateway: %w", err)
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok || !a.Unmap().Is4() {
		return netip.Addr{}, fmt.Errorf("default gateway %s is not IPv4", ip)
	}
	return a.Unmap(), nil
}
