package publicip

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVerdict(t *testing.T) {
	ap := netip.MustParseAddrPort
	a := netip.MustParseAddr
	stunSrc := func(server, mapped string, local int) Source {
		m := ap(mapped)
		return Source{Method: MethodSTUN, ServerAddr: ap(server), Address: m.Addr(), MappedPort: int(m.Port()), LocalPort: local}
	}
	tr, fa := true, false
	tests := []struct {
		name    string
		res     Result
		local   []netip.Addr
		primary string
		iface   string
		want    NAT
	}{
		{
			name:  "nothing answered",
			res:   Result{Status: StatusNotFound},
			local: []netip.Addr{a("192.168.1.23")}, primary: "192.168.1.23",
			want: NAT{Mapping: MappingUnknown, Local: a("192.168.1.23")},
		},
		{
			name: "public on interface",
			res: Result{Status: StatusConfirmed, Address: a("203.0.113.7"), Sources: []Source{
				stunSrc("192.0.2.1:3478", "203.0.113.7:5000", 5000), stunSrc("192.0.2.2:3478", "203.0.113.7:5000", 5000)}},
			local: []netip.Addr{a("203.0.113.7")}, primary: "203.0.113.7",
			want: NAT{Known: true, PublicOnInterface: true, Local: a("203.0.113.7"), Public: a("203.0.113.7"),
				Mapping: MappingEndpointIndependent, MappingVariesByDest: &fa, PortPreserved: &tr},
		},
		{
			name: "cone NAT, port changed",
			res: Result{Status: StatusConfirmed, Address: a("203.0.113.7"), Sources: []Source{
				stunSrc("192.0.2.1:3478", "203.0.113.7:6000", 5000), stunSrc("192.0.2.2:3478", "203.0.113.7:6000", 5000)}},
			local: []netip.Addr{a("192.168.1.23")}, primary: "192.168.1.23",
			want: NAT{Known: true, BehindNAT: true, Local: a("192.168.1.23"), Public: a("203.0.113.7"),
				Mapping: MappingEndpointIndependent, MappingVariesByDest: &fa, PortPreserved: &fa},
		},
		{
			name: "symmetric",
			res: Result{Status: StatusConfirmed, Address: a("203.0.113.7"), Sources: []Source{
				stunSrc("192.0.2.1:3478", "203.0.113.7:6000", 5000), stunSrc("192.0.2.2:3478", "203.0.113.7:6001", 5000)}},
			local: []netip.Addr{a("192.168.1.23")}, primary: "192.168.1.23",
			want: NAT{Known: true, BehindNAT: true, Local: a("192.168.1.23"), Public: a("203.0.113.7"),
				Mapping: MappingAddressDependent, MappingVariesByDest: &tr, PortPreserved: &fa},
		},
		{
			name: "cgnat primary",
			res: Result{Status: StatusSingleSource, Address: a("203.0.113.7"), Sources: []Source{
				{Method: MethodDNS, Address: a("203.0.113.7")}}},
			local: []netip.Addr{a("100.64.3.4")}, primary: "100.64.3.4", iface: "wwan0",
			want: NAT{Known: true, BehindNAT: true, Local: a("100.64.3.4"), Public: a("203.0.113.7"), Mapping: MappingUnknown, CGNAT: true},
		},
		{
			name: "tailscale address is not cgnat",
			res: Result{Status: StatusSingleSource, Address: a("203.0.113.7"), Sources: []Source{
				{Method: MethodDNS, Address: a("203.0.113.7")}}},
			local: []netip.Addr{a("100.101.1.2")}, primary: "100.101.1.2", iface: "tailscale0",
			want: NAT{Known: true, BehindNAT: true, Local: a("100.101.1.2"), Public: a("203.0.113.7"), Mapping: MappingUnknown},
		},
		{
			name: "conflict still judges NAT from every answer",
			res: Result{Status: StatusConflict, Sources: []Source{
				stunSrc("192.0.2.1:3478", "203.0.113.7:6000", 5000), stunSrc("192.0.2.2:3478", "203.0.113.8:6000", 5000)}},
			local: []netip.Addr{a("10.0.0.2")}, primary: "10.0.0.2",
			want: NAT{Known: true, BehindNAT: true, Local: a("10.0.0.2"), Mapping: MappingAddressDependent,
				MappingVariesByDest: &tr, MultiplePublicIPs: true, PortPreserved: &fa},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Verdict(tt.res, tt.local, a(tt.primary), tt.iface)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
				t.Errorf("Verdict mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummarizeIndependence(t *testing.T) {
	a := netip.MustParseAddr("203.0.113.7")
	same := netip.MustParseAddrPort("192.0.2.1:3478")
	other := netip.MustParseAddrPort("192.0.2.1:3479")
	// Two STUN servers on one IP are one operator: not independent.
	r := summarize([]Source{
		{Method: MethodSTUN, ServerAddr: same, Address: a},
		{Method: MethodSTUN, ServerAddr: other, Address: a},
	}, false, 0)
	if r.Status != StatusSingleSource {
		t.Errorf("status = %s, want single-source for two servers on one IP", r.Status)
	}
	r = summarize([]Source{
		{Method: MethodSTUN, ServerAddr: same, Address: a},
		{Method: MethodDNS, ServerAddr: same, Address: a},
	}, false, 0)
	if r.Status != StatusConfirmed || r.Agree != 2 {
		t.Errorf("status = %s agree %d, want confirmed by 2 methods", r.Status, r.Agree)
	}
}
