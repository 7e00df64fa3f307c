// Package netinfo lists this host's interfaces and addresses, classifies
// each address, flags virtual adapters and finds the primary (outbound)
// address of each family with a connected-UDP route probe.
package netinfo

import "net/netip"

// Kind is the class of an IP address, from most to least specific.
type Kind string

// Address kinds, as reported in the table and in JSON.
const (
	KindUnspecified   Kind = "unspecified"
	KindLoopback      Kind = "loopback"
	KindLinkLocal     Kind = "link-local"
	KindMulticast     Kind = "multicast"
	KindCGNAT         Kind = "cgnat"
	KindPrivate       Kind = "private"
	KindULA           Kind = "ula"
	KindDocumentation Kind = "documentation"
	KindBenchmark     Kind = "benchmark"
	KindReserved      Kind = "reserved"
	KindNAT64         Kind = "nat64"
	KindGlobal        Kind = "global"
	KindInvalid       Kind = "invalid"
)

// Prefixes that net/netip has no predicate for.
var (
	cgnatPrefix     = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598; IsPrivate misses it
	benchmarkPrefix = netip.MustParsePrefix("198.18.0.0/15") // RFC 2544
	reservedPrefix  = netip.MustParsePrefix("240.0.0.0/4")   // RFC 1112 class E
	nat64Prefix     = netip.MustParsePrefix("64:ff9b::/96")  // RFC 6052
	docPrefixes     = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1, RFC 5737
		netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
		netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
		netip.MustParsePrefix("2001:db8::/32"),   // RFC 3849
	}
)

// Classify returns the kind of a. An IPv4-mapped IPv6 address is classified
// as the IPv4 address it carries. The order of the tests matters: netip's
// IsGlobalUnicast is true for private, CGNAT and documentation addresses,
// so "global" is what is left after every narrower class.
func Classify(a netip.Addr) Kind {
	if !a.IsValid() {
		return KindInvalid
	}
	a = a.Unmap().WithZone("")
	switch {
	case a.IsUnspecified():
		return KindUnspecified
	case a.IsLoopback():
		return KindLoopback
	case a.IsLinkLocalUnicast():
		return KindLinkLocal
	case a.IsMulticast():
		return KindMulticast
	case cgnatPrefix.Contains(a):
		return KindCGNAT
	case a.Is4() && a.IsPrivate():
		return KindPrivate
	case a.Is6() && a.IsPrivate():
		return KindULA
	}
	for _, p := range docPrefixes {
		if p.Contains(a) {
			return KindDocumentation
		}
	}
	switch {
	case benchmarkPrefix.Contains(a):
		return KindBenchmark
	case reservedPrefix.Contains(a):
		return KindReserved
	case nat64Prefix.Contains(a):
		return KindNAT64
	case a.IsGlobalUnicast():
		return KindGlobal
	}
	return KindReserved
}
