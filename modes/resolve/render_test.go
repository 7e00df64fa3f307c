package resolve

import (
	"flag"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes/portmap"
	"github.com/sockcat/sockcat/modes/resolve/netinfo"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenReports are hand-built reports with the nasty cases: a virtual
// adapter, a cgnat tailscale address, a link-local zone, a temporary IPv6
// address, a conflict, a missing family, a failed name.
func goldenReports() map[string]*Report {
	a := netip.MustParseAddr
	ap := netip.MustParseAddrPort
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning
	ifs := netinfo.Describe([]netinfo.RawInterface{
		{Name: "lo", Index: 1, MTU: 65536, Flags: net.FlagUp | net.FlagLoopback | net.FlagRunning, SysVirtual: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")}},
		{Name: "eth0", Index: 2, MTU: 1500, Flags: up, HardwareAddr: net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56},
			Prefixes: []netip.Prefix{netip.MustParsePrefix("192.168.1.23/24"), netip.MustParsePrefix("2001:db8:1::23/64"),
				netip.MustParsePrefix("2001:db8:1::abcd/64"), netip.MustParsePrefix("fe80::1/64")}},
		{Name: "vboxnet0", Index: 5, MTU: 1500, Flags: up, SysVirtual: true, HardwareAddr: net.HardwareAddr{0x0a, 0, 0x27, 0, 0, 0},
			Prefixes: []netip.Prefix{netip.MustParsePrefix("192.168.56.1/24")}},
		{Name: "tailscale0", Index: 7, MTU: 1280, Flags: net.FlagUp | net.FlagPointToPoint | net.FlagRunning, SysVirtual: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("100.101.1.2/32")}},
	}, map[netip.Addr]netinfo.V6Flags{a("2001:db8:1::abcd"): {Temporary: true}})

	stun := func(server, mapped string, local int, rtt time.Duration) publicip.Source {
		m := ap(mapped)
		return publicip.Source{Method: publicip.MethodSTUN, Server: server, ServerAddr: ap(server), Address: m.Addr(),
			MappedPort: int(m.Port()), LocalPort: local, RTT: rtt}
	}
	v4 := &publicip.Result{Status: publicip.StatusConfirmed, Address: a("203.0.113.7"), Kind: netinfo.KindDocumentation, Agree: 3,
		Elapsed: 31 * time.Millisecond, Sources: []publicip.Source{
			stun("192.0.2.100:3478", "203.0.113.7:41234", 41234, 21*time.Millisecond),
			stun("198.51.100.100:3478", "203.0.113.7:41234", 41234, 25*time.Millisecond),
			{Method: publicip.MethodDNS, Server: "google@192.0.2.53", ServerAddr: ap("192.0.2.53:53"), Address: a("203.0.113.7"), RTT: 31 * time.Millisecond},
			{Method: publicip.MethodHTTP, Server: "https://echo.example.test/", Err: "not started: not needed: two sources already agreed"},
		}}
	v6 := &publicip.Result{V6: true, Status: publicip.StatusSingleSource, Address: a("2001:db8:1::abcd"), Kind: netinfo.KindDocumentation, Agree: 1,
		Elapsed: 3 * time.Second, Sources: []publicip.Source{
			stun("[2001:db8::100]:3478", "[2001:db8:1::abcd]:50000", 50000, 40*time.Millisecond),
			{Method: publicip.MethodSTUN, Server: "stun.example.test:3478", Err: "lookup stun.example.test: no such host"},
		}}
	conflict := &publicip.Result{Status: publicip.StatusConflict, Elapsed: 3 * time.Second, Sources: []publicip.Source{
		stun("192.0.2.100:3478", "203.0.113.7:40000", 41234, 20*time.Millisecond),
		stun("198.51.100.100:3478", "203.0.113.8:40001", 41234, 22*time.Millisecond),
		{Method: publicip.MethodDNS, Server: "cloudflare@192.0.2.53", ServerAddr: ap("192.0.2.53:53"), Err: "timeout: no answer to 2 queries"},
	}}
	notFound := &publicip.Result{V6: true, Status: publicip.StatusNotFound, Elapsed: 3 * time.Second, Sources: []publicip.Source{
		{Method: publicip.MethodSTUN, Server: "[2001:db8::100]:3478", ServerAddr: ap("[2001:db8::100]:3478"), LocalPort: 50000, Err: "timeout: no answer to 4 requests"},
	}}
	at := time.Date(2026, 11, 25, 2, 40, 0, 0, time.UTC)
	primary := [2]Primary{{Addr: a("192.168.1.23"), Interface: "eth0"}, {Addr: a("2001:db8:1::abcd"), Interface: "eth0"}}

	nat := &Report{Time: at, Hostname: "vm", ShowLocal: true, ShowPublic: true, Families: []bool{false, true},
		Interfaces: ifs, Primary: primary, PublicConfigured: true, Verbose: true}
	nat.Public = [2]*publicip.Result{v4, v6}
	local := []netip.Addr{}
	for _, ifc := range ifs {
		for _, ad := range ifc.Addrs {
			local = append(local, ad.Addr)
		}
	}
	n4 := publicip.Verdict(*v4, local, primary[0].Addr, "eth0")
	n6 := publicip.Verdict(*v6, local, primary[1].Addr, "eth0")
	nat.NAT = [2]*publicip.NAT{&n4, &n6}

	conf := &Report{Time: at, Hostname: "vm", ShowPublic: true, ShowNames: false, Families: []bool{false, true},
		Interfaces: ifs, Primary: [2]Primary{{Addr: a("100.64.9.9"), Interface: "wwan0"}, {Err: "connect: network is unreachable"}}, PublicConfigured: true}
	conf.Public = [2]*publicip.Result{conflict, notFound}
	c4 := publicip.Verdict(*conflict, local, a("100.64.9.9"), "wwan0")
	c6 := publicip.Verdict(*notFound, local, netip.Addr{}, "")
	conf.NAT = [2]*publicip.NAT{&c4, &c6}

	names := &Report{Time: at, Hostname: "vm", ShowNames: true, Families: []bool{false, true}, Verbose: true, Names: []NameResult{
		{Query: "www.example.test.:443", Host: "www.example.test.", Port: 443, Resolver: "dns@127.0.0.1:5353", CNAME: "dual.example.test.",
			A: []netip.Addr{a("192.0.2.10")}, AAAA: []netip.Addr{a("2001:db8::10")}, DialOrder: []netip.Addr{a("2001:db8::10"), a("192.0.2.10")},
			Reverse: map[netip.Addr][]string{a("192.0.2.10"): {"dual.example.test."}}},
		{Query: "localhost", Host: "localhost", Resolver: "system", CNAME: "localhost.", A: []netip.Addr{a("127.0.0.1")},
			FromHosts: true, HostsAddr: []netip.Addr{a("127.0.0.1")}, DialOrder: []netip.Addr{a("127.0.0.1")}, Notes: []string{"no AAAA in hosts file"}},
		{Query: "nosuch.example.test.", Host: "nosuch.example.test.", Resolver: "dns@127.0.0.1:5353", NotFound: true,
			Err: "lookup nosuch.example.test. (dns@127.0.0.1:5353): no such host"},
	}}
	nat.Portmap = &portmap.ProbeResult{Gateway: a("192.168.1.1"), NATPMP: portmap.Status{Available: true, ExternalIP: nat.Public[0].Address},
		PCP: portmap.Status{Available: true}, UPnP: portmap.Status{Err: "no answer to SSDP search"}}
	conf.Portmap = &portmap.ProbeResult{Err: "no IPv4 default gateway"}
	cfg := &Config{ProcVersion: func() string { return "Linux version 6.18" }}
	for _, r := range []*Report{nat, conf, names} {
		r.Hints = hints(cfg, r)
	}
	return map[string]*Report{"nat": nat, "conflict": conf, "names": names}
}

func TestGolden(t *testing.T) {
	for name, r := range goldenReports() {
		json, err := RenderJSON(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range []struct {
			file string
			got  []byte
		}{
			{name + ".json", json},
			{name + ".txt", RenderTable(r)},
			{name + ".short", RenderShort(r)},
		} {
			t.Run(out.file, func(t *testing.T) {
				path := filepath.Join("testdata", out.file)
				if *update {
					if err := os.WriteFile(path, out.got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if diff := cmp.Diff(string(want), string(out.got)); diff != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", out.file, diff)
				}
			})
		}
	}
}

// TestJSONFlagsUnknown: where the platform cannot tell an IPv6 address's
// flags, --json shows them as null and says why, instead of false.
func TestJSONFlagsUnknown(t *testing.T) {
	r := goldenReports()["nat"]
	for i := range r.Interfaces {
		for j := range r.Interfaces[i].Addrs {
			if r.Interfaces[i].Addrs[j].Addr.Is6() {
				r.Interfaces[i].Addrs[j].FlagsUnknown = "not read on this platform"
			}
		}
	}
	out, err := RenderJSON(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"temporary": null`, `"deprecated": null`, `"tentative": null`, `"flags_unknown": "not read on this platform"`, `"temporary": false`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
}
