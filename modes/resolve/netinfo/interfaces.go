package netinfo

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// RawInterface is one network interface as the operating system reports it,
// before classification. Tests build these by hand.
type RawInterface struct {
	Name         string
	Index        int
	HardwareAddr net.HardwareAddr
	MTU          int
	Flags        net.Flags
	Prefixes     []netip.Prefix // addresses with their prefix length; link-local IPv6 carries a zone
	// SysVirtual is true when /sys/class/net/NAME resolves under
	// /sys/devices/virtual (Linux only; false elsewhere).
	SysVirtual bool
}

// Lister returns the host's interfaces. [SystemInterfaces] is the real one.
type Lister func() ([]RawInterface, error)

// Interface is a classified interface.
type Interface struct {
	Name          string
	Index         int
	MAC           string // empty when the interface has none
	MTU           int
	Flags         []string
	Up            bool
	Loopback      bool
	PointToPoint  bool
	Virtual       bool
	VirtualReason string // why the interface is thought to be virtual; empty when it is not
	Addrs         []Addr
}

// Addr is one classified interface address.
type Addr struct {
	Addr       netip.Addr // unmapped; zone only on link-local IPv6
	PrefixLen  int
	Kind       Kind
	Temporary  bool // IPv6 privacy address (IFA_F_TEMPORARY); Linux only
	Deprecated bool // preferred lifetime expired (IFA_F_DEPRECATED); Linux only
	Tentative  bool // duplicate address detection not finished (IFA_F_TENTATIVE); Linux only
	// FlagsUnknown, for an IPv6 address, says why Temporary, Deprecated
	// and Tentative are not known (JSON should show them as null with this
	// reason); "" when they are.
	FlagsUnknown string
}

// Hidden reports whether the table leaves the interface out unless
// --all-interfaces is given: it is down, loopback, or point-to-point without
// a global address.
func (ifc Interface) Hidden() bool {
	if !ifc.Up || ifc.Loopback {
		return true
	}
	if ifc.PointToPoint {
		for _, a := range ifc.Addrs {
			if a.Kind == KindGlobal {
				return false
			}
		}
		return true
	}
	return false
}

// virtualPrefixes maps interface-name prefixes (lower case) to the reason
// reported: Linux, macOS and FreeBSD names, then Windows' adapter names (Go
// reports the adapter's friendly name there). The order matters where one
// prefix starts another.
var virtualPrefixes = []struct{ prefix, reason string }{
	// Windows: the tutorial's trap is an address of one of these.
	{"vethernet (wsl", "WSL virtual switch (Hyper-V): only the WSL VM on this host"},
	{"vethernet", "Hyper-V virtual switch (vEthernet): VMs and containers on this host"},
	{"hyper-v virtual ethernet", "Hyper-V virtual switch: VMs and containers on this host"},
	{"virtualbox host-only", "VirtualBox host-only: only VMs on this host"},
	{"vmware network adapter vmnet", "VMware virtual network: only VMs on this host"},
	{"vmware virtual ethernet", "VMware virtual network: only VMs on this host"},
	{"local area connection*", "Wi-Fi Direct virtual adapter: not the LAN"},
	{"loopback pseudo-interface", "loopback"},
	{"npcap loopback", "Npcap loopback capture adapter"},
	{"zerotier", "ZeroTier VPN"},
	{"openvpn", "OpenVPN adapter"},
	{"wireguard", "WireGuard tunnel"},
	// macOS and FreeBSD.
	{"bridge", "bridge (Internet Sharing, VMs or Thunderbolt Bridge): not the LAN adapter"},
	{"awdl", "Apple Wireless Direct Link (AirDrop): not a LAN"},
	{"llw", "low-latency WLAN (AirDrop companion): not a LAN"},
	{"anpi", "Apple internal network processor link"},
	{"ap1", "Wi-Fi access point of Internet Sharing"},
	{"gif", "IPv6-in-IPv4 tunnel pseudo-interface"},
	{"stf", "6to4 tunnel pseudo-interface"},
	{"feth", "fake ethernet pair"},
	{"epair", "jail virtual ethernet pair (FreeBSD)"},
	{"pflog", "pf log pseudo-interface"},
	{"pfsync", "pf state sync pseudo-interface"},
	// Linux, and names every platform shares.
	{"docker", "docker bridge: not reachable from the LAN"},
	{"br-", "docker network bridge: not reachable from the LAN"},
	{"veth", "virtual ethernet pair (containers)"},
	{"virbr", "libvirt bridge: only VMs on this host"},
	{"vboxnet", "VirtualBox host-only: only VMs on this host"},
	{"vmnet", "VMware virtual network: only VMs on this host"},
	{"tailscale", "tailscale VPN"},
	{"wg", "WireGuard tunnel"},
	{"utun", "tunnel"},
	{"tun", "tunnel"},
	{"tap", "tap device"},
	{"zt", "ZeroTier VPN"},
	{"lxc", "LXC container bridge"},
	{"lxd", "LXD container bridge"},
	{"cni", "container network (CNI)"},
	{"flannel", "container network (flannel)"},
	{"cali", "container network (calico)"},
	{"kube", "container network (kubernetes)"},
	{"podman", "podman bridge"},
}

// VirtualReason returns why an interface looks virtual, or "" when it looks
// physical. It is a heuristic: name prefixes first (they give the most useful
// reason), then Docker's 02:42 MAC prefix, point-to-point links and finally
// the Linux sysfs location.
func VirtualReason(raw RawInterface) string {
	name := strings.ToLower(raw.Name)
	for _, v := range virtualPrefixes {
		if strings.HasPrefix(name, v.prefix) {
			return v.reason
		}
	}
	if len(raw.HardwareAddr) >= 2 && raw.HardwareAddr[0] == 0x02 && raw.HardwareAddr[1] == 0x42 {
		return "docker MAC prefix 02:42"
	}
	if raw.Flags&net.FlagPointToPoint != 0 {
		return "point-to-point link (VPN or tunnel)"
	}
	if raw.SysVirtual {
		if raw.Flags&net.FlagLoopback != 0 {
			return "loopback"
		}
		return "virtual device (/sys/devices/virtual)"
	}
	return ""
}

// V6Flags are the IPv6 address flags of /proc/net/if_inet6.
type V6Flags struct {
	Temporary, Deprecated, Tentative, Permanent bool
}

// Flag bits of the fifth column of /proc/net/if_inet6 (linux/if_addr.h).
const (
	ifaTemporary  = 0x01
	ifaTentative  = 0x40
	ifaDeprecated = 0x20
	ifaPermanent  = 0x80
)

// ParseIfInet6 parses the text of /proc/net/if_inet6: one address a line,
// "ADDR32HEX IFINDEX PREFIXLEN SCOPE FLAGS NAME", all numbers in hex. Lines
// that do not parse are skipped; the kernel format has not changed since
// Linux 2.2, so a bad line means a truncated read, not a new format.
func ParseIfInet6(data []byte) map[netip.Addr]V6Flags {
	out := make(map[netip.Addr]V6Flags)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || len(f[0]) != 32 {
			continue
		}
		b, err := hex.DecodeString(f[0])
		if err != nil {
			continue
		}
		flags, err := strconv.ParseUint(f[4], 16, 32)
		if err != nil {
			continue
		}
		a := netip.AddrFrom16([16]byte(b))
		out[a] = V6Flags{
			Temporary:  flags&ifaTemporary != 0,
			Deprecated: flags&ifaDeprecated != 0,
			Tentative:  flags&ifaTentative != 0,
			Permanent:  flags&ifaPermanent != 0,
		}
	}
	return out
}

// Describe classifies raw interfaces: each address gets its kind and IPv6
// flags (from v6, which may be nil), each interface its virtual flag. Physical
// interfaces sort first, then by index; virtual adapters are never dropped.
func Describe(raw []RawInterface, v6 map[netip.Addr]V6Flags) []Interface {
	out := make([]Interface, 0, len(raw))
	for _, r := range raw {
		ifc := Interface{
			Name:         r.Name,
			Index:        r.Index,
			MTU:          r.MTU,
			Flags:        flagNames(r.Flags),
			Up:           r.Flags&net.FlagUp != 0,
			Loopback:     r.Flags&net.FlagLoopback != 0,
			PointToPoint: r.Flags&net.FlagPointToPoint != 0,
		}
		if len(r.HardwareAddr) > 0 {
			ifc.MAC = r.HardwareAddr.String()
		}
		ifc.VirtualReason = VirtualReason(r)
		ifc.Virtual = ifc.VirtualReason != ""
		for _, p := range r.Prefixes {
			a := p.Addr().Unmap()
			if a.Is6() && a.IsLinkLocalUnicast() && a.Zone() == "" {
				a = a.WithZone(r.Name)
			} else if !a.IsLinkLocalUnicast() {
				a = a.WithZone("")
			}
			bits := p.Bits()
			if p.Addr().Is4In6() && bits >= 96 {
				bits -= 96
			}
			ad := Addr{Addr: a, PrefixLen: bits, Kind: Classify(a)}
			if f, ok := v6[a.WithZone("")]; ok {
				ad.Temporary, ad.Deprecated, ad.Tentative = f.Temporary, f.Deprecated, f.Tentative
			} else if a.Is6() && v6 == nil {
				ad.FlagsUnknown = v6FlagsUnknown
			}
			ifc.Addrs = append(ifc.Addrs, ad)
		}
		out = append(out, ifc)
	}
	slices.SortStableFunc(out, func(a, b Interface) int {
		if a.Virtual != b.Virtual {
			if a.Virtual {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Index, b.Index)
	})
	return out
}

func flagNames(f net.Flags) []string {
	names := []string{}
	for _, v := range []struct {
		bit  net.Flags
		name string
	}{
		{net.FlagUp, "up"},
		{net.FlagBroadcast, "broadcast"},
		{net.FlagLoopback, "loopback"},
		{net.FlagPointToPoint, "pointtopoint"},
		{net.FlagMulticast, "multicast"},
		{net.FlagRunning, "running"},
	} {
		if f&v.bit != 0 {
			names = append(names, v.name)
		}
	}
	return names
}

// SystemInterfaces lists the host's interfaces with net.Interfaces and, on
// Linux, marks those that sysfs places under /sys/devices/virtual.
func SystemInterfaces() ([]RawInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]RawInterface, 0, len(ifs))
	for _, ifc := range ifs {
		r := RawInterface{
			Name:         ifc.Name,
			Index:        ifc.Index,
			HardwareAddr: ifc.HardwareAddr,
			MTU:          ifc.MTU,
			Flags:        ifc.Flags,
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, fmt.Errorf("addresses of %s: %w", ifc.Name, err)
		}
		for _, a := range addrs {
			p, err := netip.ParsePrefix(a.String())
			if err != nil {
				continue // not an IP address (never seen on Linux)
			}
			r.Prefixes = append(r.Prefixes, p)
		}
		if target, err := filepath.EvalSymlinks(filepath.Join("/sys/class/net", ifc.Name)); err == nil {
			r.SysVirtual = strings.HasPrefix(target, "/sys/devices/virtual/")
		}
		out = append(out, r)
	}
	return out, nil
}

// SystemV6Flags reads /proc/net/if_inet6; elsewhere it returns nil, and
// [Describe] marks every IPv6 address's flags unknown with the reason
// (Go does not expose them: golang/go#42694).
func SystemV6Flags() map[netip.Addr]V6Flags {
	data, err := os.ReadFile("/proc/net/if_inet6")
	if err != nil {
		return nil
	}
	return ParseIfInet6(data)
}
