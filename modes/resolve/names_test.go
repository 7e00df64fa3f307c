package resolve

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDialOrder(t *testing.T) {
	p := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	both := []bool{false, true}
	tests := []struct {
		name    string
		sorted  []netip.Addr
		a, aaaa []netip.Addr
		fams    []bool
		v6First bool
		want    []netip.Addr
	}{
		{name: "resolver order, families grouped after the first", sorted: p("2001:db8::1", "192.0.2.1", "2001:db8::2"),
			fams: both, want: p("2001:db8::1", "2001:db8::2", "192.0.2.1")},
		{name: "mapped answers unmapped", sorted: p("::ffff:127.0.0.1"), fams: both, want: p("127.0.0.1")},
		{name: "-4 drops IPv6", sorted: p("2001:db8::1", "192.0.2.1"), fams: []bool{false}, want: p("192.0.2.1")},
		{name: "no resolver order, IPv6 route", a: p("192.0.2.1"), aaaa: p("2001:db8::1"), fams: both, v6First: true,
			want: p("2001:db8::1", "192.0.2.1")},
		{name: "no resolver order, no IPv6 route", a: p("192.0.2.1"), aaaa: p("2001:db8::1"), fams: both,
			want: p("192.0.2.1", "2001:db8::1")},
		{name: "nothing", fams: both, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dialOrder(tt.sorted, tt.a, tt.aaaa, tt.fams, tt.v6First)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
				t.Errorf("dialOrder mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.10":       "10.2.0.192.in-addr.arpa.",
		"::ffff:192.0.2.1": "1.2.0.192.in-addr.arpa.",
		"2001:db8::1":      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
	} {
		got, err := reverseName(netip.MustParseAddr(in))
		if err != nil || got != want {
			t.Errorf("reverseName(%s) = %q, %v, want %q", in, got, err, want)
		}
	}
}
