package netinfo_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes/resolve/netinfo"
)

var classifyCases = []struct {
	in   string
	want netinfo.Kind
}{
	{"0.0.0.0", netinfo.KindUnspecified},
	{"::", netinfo.KindUnspecified},
	{"127.0.0.1", netinfo.KindLoopback},
	{"127.255.0.9", netinfo.KindLoopback},
	{"::1", netinfo.KindLoopback},
	{"169.254.1.1", netinfo.KindLinkLocal},
	{"fe80::1%eth0", netinfo.KindLinkLocal},
	{"224.0.0.251", netinfo.KindMulticast},
	{"ff02::1", netinfo.KindMulticast},
	{"100.64.0.1", netinfo.KindCGNAT},
	{"100.127.255.254", netinfo.KindCGNAT},
	{"100.100.1.1", netinfo.KindCGNAT},
	{"100.128.0.1", netinfo.KindGlobal}, // just past 100.64/10
	{"100.63.255.255", netinfo.KindGlobal},
	{"10.1.2.3", netinfo.KindPrivate},
	{"172.17.0.1", netinfo.KindPrivate},
	{"192.168.1.23", netinfo.KindPrivate},
	{"::ffff:192.168.1.2", netinfo.KindPrivate}, // mapped IPv4 is classified as IPv4
	{"::ffff:100.64.0.1", netinfo.KindCGNAT},
	{"::ffff:8.8.8.8", netinfo.KindGlobal},
	{"fc00::1", netinfo.KindULA},
	{"fd7a:115c:a1e0::1", netinfo.KindULA},
	{"fdff:ffff::1", netinfo.KindULA},
	{"192.0.2.2", netinfo.KindDocumentation},
	{"198.51.100.7", netinfo.KindDocumentation},
	{"203.0.113.255", netinfo.KindDocumentation},
	{"2001:db8::", netinfo.KindDocumentation},
	{"2001:db8:ffff::1", netinfo.KindDocumentation},
	{"2001:db9::1", netinfo.KindGlobal},
	{"198.18.0.1", netinfo.KindBenchmark},
	{"240.0.0.1", netinfo.KindReserved},
	{"255.255.255.255", netinfo.KindReserved},
	{"64:ff9b::192.0.2.1", netinfo.KindNAT64},
	{"1.2.3.4", netinfo.KindGlobal},
	{"2606:4700:4700::1111", netinfo.KindGlobal},
}

func TestClassify(t *testing.T) {
	for _, tt := range classifyCases {
		t.Run(tt.in, func(t *testing.T) {
			if got := netinfo.Classify(netip.MustParseAddr(tt.in)); got != tt.want {
				t.Errorf("Classify(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
	if got := netinfo.Classify(netip.Addr{}); got != netinfo.KindInvalid {
		t.Errorf("Classify(zero) = %s, want invalid", got)
	}
}

func FuzzClassify(f *testing.F) {
	for _, tt := range classifyCases {
		a := netip.MustParseAddr(tt.in)
		f.Add(a.AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		k := netinfo.Classify(a)
		if k == netinfo.KindInvalid {
			t.Fatalf("Classify(%s) = invalid for a valid address", a)
		}
		if a.Is4In6() && k != netinfo.Classify(a.Unmap()) {
			t.Fatalf("Classify(%s) = %s, but its IPv4 form is %s", a, k, netinfo.Classify(a.Unmap()))
		}
		if k == netinfo.KindGlobal && (a.Unmap().IsPrivate() || a.Unmap().IsLoopback()) {
			t.Fatalf("Classify(%s) = global for a private address", a)
		}
	})
}

func raw(name string, idx int, flags net.Flags, mac string, sysVirtual bool, prefixes ...string) netinfo.RawInterface {
	r := netinfo.RawInterface{Name: name, Index: idx, MTU: 1500, Flags: flags, SysVirtual: sysVirtual}
	if mac != "" {
		r.HardwareAddr, _ = net.ParseMAC(mac)
	}
	for _, p := range prefixes {
		r.Prefixes = append(r.Prefixes, netip.MustParsePrefix(p))
	}
	return r
}

// injected is the tutorial's machine: a LAN NIC, VirtualBox, Docker,
// tailscale, a down NIC and loopback.
func injected() []netinfo.RawInterface {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning
	return []netinfo.RawInterface{
		raw("lo", 1, net.FlagUp|net.FlagLoopback|net.FlagRunning, "", true, "127.0.0.1/8", "::1/128"),
		raw("docker0", 3, up, "02:42:ac:11:00:01", true, "172.17.0.1/16"),
		raw("vboxnet0", 5, up, "0a:00:27:00:00:00", true, "192.168.56.1/24"),
		raw("eth0", 2, up, "52:54:00:12:34:56", false, "192.168.1.23/24", "2001:db8:1::23/64", "fe80::1/64"),
		raw("tailscale0", 7, net.FlagUp|net.FlagPointToPoint|net.FlagMulticast|net.FlagRunning, "", true, "100.101.1.2/32"),
		raw("wlan0", 4, net.FlagBroadcast|net.FlagMulticast, "52:54:00:aa:bb:cc", false),
		raw("enp0s31f6", 8, up, "02:42:00:00:00:09", false, "10.0.0.5/8"), // Docker's MAC prefix on a physical name
		raw("br0", 9, up, "52:54:00:00:00:01", true, "192.168.2.1/24"),    // sysfs says virtual
	}
}

func TestDescribe(t *testing.T) {
	v6 := netinfo.ParseIfInet6([]byte("20010db8000100000000000000000023 02 40 00 01 eth0\n"))
	got := netinfo.Describe(injected(), v6)
	type row struct {
		Name, Reason string
		Hidden       bool
		Addrs        []string
	}
	var rows []row
	for _, ifc := range got {
		r := row{Name: ifc.Name, Reason: ifc.VirtualReason, Hidden: ifc.Hidden()}
		for _, a := range ifc.Addrs {
			s := a.Addr.String() + " " + string(a.Kind)
			if a.Temporary {
				s += " temporary"
			}
			r.Addrs = append(r.Addrs, s)
		}
		rows = append(rows, r)
	}
	want := []row{
		{Name: "eth0", Addrs: []string{"192.168.1.23 private", "2001:db8:1::23 documentation temporary", "fe80::1%eth0 link-local"}},
		{Name: "wlan0", Hidden: true},
		{Name: "lo", Reason: "loopback", Hidden: true, Addrs: []string{"127.0.0.1 loopback", "::1 loopback"}},
		{Name: "docker0", Reason: "docker bridge: not reachable from the LAN", Addrs: []string{"172.17.0.1 private"}},
		{Name: "vboxnet0", Reason: "VirtualBox host-only: only VMs on this host", Addrs: []string{"192.168.56.1 private"}},
		{Name: "tailscale0", Reason: "tailscale VPN", Hidden: true, Addrs: []string{"100.101.1.2 cgnat"}},
		{Name: "enp0s31f6", Reason: "docker MAC prefix 02:42", Addrs: []string{"10.0.0.5 private"}},
		{Name: "br0", Reason: "virtual device (/sys/devices/virtual)", Addrs: []string{"192.168.2.1 private"}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("Describe mismatch (-want +got):\n%s", diff)
	}
}

var ifInet6Cases = []struct {
	name string
	in   string
	want map[netip.Addr]netinfo.V6Flags
}{
	{
		name: "this machine",
		in: "fd000000000000000000000000000002 04 40 00 82 eth0\n" +
			"fe8000000000000000fc00fffe000001 04 40 20 80 eth0\n" +
			"00000000000000000000000000000001 01 80 10 80 lo\n",
		want: map[netip.Addr]netinfo.V6Flags{
			netip.MustParseAddr("fd00::2"):            {Permanent: true},
			netip.MustParseAddr("fe80::fc:ff:fe00:1"): {Permanent: true},
			netip.MustParseAddr("::1"):                {Permanent: true},
		},
	},
	{
		name: "temporary, deprecated, tentative",
		in:   "20010db8000000000000000000000001 02 40 00 21 eth0\n20010db8000000000000000000000002 02 40 00 40 eth0\n",
		want: map[netip.Addr]netinfo.V6Flags{
			netip.MustParseAddr("2001:db8::1"): {Temporary: true, Deprecated: true},
			netip.MustParseAddr("2001:db8::2"): {Tentative: true},
		},
	},
	{
		name: "garbage lines skipped",
		in:   "zz\n20010db8 02 40 00 21 eth0\n2001xdb8000000000000000000000001 02 40 00 21 eth0\n20010db8000000000000000000000001 02 40 00 zz eth0\n",
		want: map[netip.Addr]netinfo.V6Flags{},
	},
}

func TestParseIfInet6(t *testing.T) {
	for _, tt := range ifInet6Cases {
		t.Run(tt.name, func(t *testing.T) {
			got := netinfo.ParseIfInet6([]byte(tt.in))
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("ParseIfInet6 mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseIfInet6(f *testing.F) {
	for _, tt := range ifInet6Cases {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for a := range netinfo.ParseIfInet6(b) {
			if !a.Is6() {
				t.Fatalf("ParseIfInet6 returned %v", a)
			}
		}
	})
}

func TestRouteProbeSendsNothing(t *testing.T) {
	// The probe only connects; whether it finds a route depends on the host,
	// so only the shape of the answer is checked.
	for _, v6 := range []bool{false, true} {
		a, err := netinfo.RouteProbe(v6)
		if err != nil {
			t.Logf("RouteProbe(v6=%t): %v (no route: fine)", v6, err)
			continue
		}
		if a.Is6() != v6 || a.Is4In6() {
			t.Errorf("RouteProbe(v6=%t) = %v: wrong family", v6, a)
		}
	}
}
