package portmap

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// systemGateway reads the default route from /proc/net/route.
func systemGateway(iface string) (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("default gateway: %w", err)
	}
	defer f.Close()
	routes, err := ParseProcRoutes(f)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("default gateway: %w", err)
	}
	r, ok := PickRoute(routes, iface)
	if !ok {
		return netip.Addr{}, errors.New("no IPv4 default gateway")
	}
	return r.Gateway, nil
}
