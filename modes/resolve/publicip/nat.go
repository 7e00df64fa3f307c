package publicip

import (
	"net/netip"
	"strings"

	"github.com/sockcat/sockcat/modes/resolve/netinfo"
)

// Mapping is how a NAT maps one local socket to public endpoints.
type Mapping string

// Mapping kinds (RFC 4787 §4.1 terms).
const (
	// MappingEndpointIndependent: every server sees the same ip:port, so a
	// port forward and hole punching both work.
	MappingEndpointIndependent Mapping = "endpoint-independent"
	// MappingAddressDependent: servers see different ports (or addresses)
	// for one socket, the "symmetric" NAT that defeats hole punching.
	MappingAddressDependent Mapping = "address-dependent"
	// MappingUnknown: fewer than two STUN answers to compare.
	MappingUnknown Mapping = "unknown"
)

// NAT is the verdict for one family.
type NAT struct {
	Known             bool // false when no source answered: nothing else is meaningful
	BehindNAT         bool
	PublicOnInterface bool       // the public address is one of this host's interface addresses
	Local             netip.Addr // the primary address the verdict compares with; may be invalid
	Public            netip.Addr // the address the verdict is about; may be invalid on conflict
	Mapping           Mapping
	// MappingVariesByDest is nil when fewer than two STUN servers answered.
	MappingVariesByDest *bool
	MultiplePublicIPs   bool
	// PortPreserved is nil when no STUN server answered.
	PortPreserved *bool
	// CGNAT is true when the primary address is in 100.64/10 (not on a
	// tailscale interface) or the mapped address is cgnat or private: an
	// inbound IPv4 connection from the internet cannot reach this host.
	CGNAT bool
}

// Verdict judges the NAT from the discovery result, the host's interface
// addresses and the primary address (on interface primaryIface), following
// tailscale's netcheck: the answers of several STUN servers to ONE socket
// tell whether the mapping depends on the destination.
func Verdict(r Result, local []netip.Addr, primary netip.Addr, primaryIface string) NAT {
	n := NAT{Mapping: MappingUnknown, Local: primary, Public: r.Address}
	var answers []netip.Addr
	if r.Address.IsValid() {
		answers = []netip.Addr{r.Address}
	} else {
		for _, s := range r.Sources {
			if s.OK() && s.Address.Is6() == r.V6 {
				answers = append(answers, s.Address)
			}
		}
	}
	if len(answers) == 0 {
		return n
	}
	n.Known = true
	onIface := func(a netip.Addr) bool {
		for _, l := range local {
			if l.WithZone("") == a {
				return true
			}
		}
		return false
	}
	n.PublicOnInterface = true
	for _, a := range answers {
		n.PublicOnInterface = n.PublicOnInterface && onIface(a)
	}
	n.BehindNAT = !n.PublicOnInterface

	var stun []Source
	for _, s := range r.Sources {
		if s.Method == MethodSTUN && s.OK() && s.Address.Is6() == r.V6 {
			stun = append(stun, s)
		}
	}
	if len(stun) > 0 {
		pp := stun[0].MappedPort == stun[0].LocalPort
		n.PortPreserved = &pp
	}
	if len(stun) >= 2 {
		varies := false
		for _, s := range stun[1:] {
			if s.Address != stun[0].Address {
				n.MultiplePublicIPs = true
				varies = true
			}
			if s.MappedPort != stun[0].MappedPort {
				varies = true
			}
		}
		n.MappingVariesByDest = &varies
		n.Mapping = MappingEndpointIndependent
		if varies {
			n.Mapping = MappingAddressDependent
		}
	}
	if netinfo.Classify(primary) == netinfo.KindCGNAT && !strings.HasPrefix(strings.ToLower(primaryIface), "tailscale") {
		n.CGNAT = true
	}
	if n.BehindNAT {
		for _, a := range answers {
			if k := netinfo.Classify(a); k == netinfo.KindCGNAT || k == netinfo.KindPrivate {
				n.CGNAT = true
			}
		}
	}
	return n
}
