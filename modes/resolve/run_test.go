package resolve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes/portmap"
	"github.com/sockcat/sockcat/modes/resolve"
	"github.com/sockcat/sockcat/modes/resolve/netinfo"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
	"github.com/sockcat/sockcat/modes/resolve/resolvetest"
)

var fast = publicip.Timing{RTO: 20 * time.Millisecond, DNSDelay: 10 * time.Millisecond, HTTPDelay: 20 * time.Millisecond, DNSRetry: 50 * time.Millisecond, Grace: 100 * time.Millisecond}

// lan is an injected host: one NIC behind a NAT, and VirtualBox.
func lan() ([]netinfo.RawInterface, error) {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning
	return []netinfo.RawInterface{
		{Name: "vboxnet0", Index: 5, Flags: up, Prefixes: []netip.Prefix{netip.MustParsePrefix("192.168.56.1/24")}},
		{Name: "eth0", Index: 2, Flags: up, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/24")}},
	}, nil
}

func probe(v6 bool) (netip.Addr, error) {
	if v6 {
		return netip.Addr{}, errors.New("connect: network is unreachable")
	}
	return netip.MustParseAddr("10.0.0.2"), nil
}

func baseConfig() *resolve.Config {
	return &resolve.Config{
		Timeout:     5 * time.Second,
		NoExternal:  true,
		Lister:      lan,
		V6Flags:     func() map[netip.Addr]netinfo.V6Flags { return nil },
		RouteProbe:  probe,
		Hostname:    func() (string, error) { return "vm", nil },
		Timing:      fast,
		ProcVersion: func() string { return "" },
		Portmap:     func(context.Context) portmap.ProbeResult { return portmap.ProbeResult{Err: "no IPv4 default gateway"} },
	}
}

func startSTUN(t *testing.T, addr string, m resolvetest.MapFunc) string {
	t.Helper()
	s, err := resolvetest.StartSTUN(addr, resolvetest.STUNNormal, m)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Addr.String()
}

func TestRunPublicBehindNAT(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Public, cfg.Only4 = true, true
	cfg.STUN = []string{startSTUN(t, "127.0.0.1:0", resolvetest.Fixed("198.51.100.7")), startSTUN(t, "127.0.0.2:0", resolvetest.Fixed("198.51.100.7"))}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rep, err := resolve.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(cfg); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
	var out bytes.Buffer
	if err := resolve.Write(&out, rep, cfg); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"IPv4    198.51.100.7  confirmed",
		"behind NAT: 10.0.0.2 -> 198.51.100.7; mapping endpoint-independent",
		"internet peers dial 198.51.100.7:PORT only after you forward PORT to 10.0.0.2:PORT on your router",
		"vboxnet0 (192.168.56.1) is a virtual adapter (VirtualBox host-only",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "LOCAL") {
		t.Errorf("--public printed the local section:\n%s", out.String())
	}
}

func TestRunShortFindsNothing(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Short = true
	rep, err := resolve.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(cfg); !errors.Is(err, resolve.ErrNoPublicAddress) {
		t.Errorf("Err() = %v, want ErrNoPublicAddress", err)
	}
	if got := resolve.RenderShort(rep); len(got) != 0 {
		t.Errorf("RenderShort = %q, want nothing", got)
	}
}

func TestRunJSONNoFieldDisappears(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.JSON = true
	rep, err := resolve.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := resolve.RenderJSON(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "time", "hostname", "local", "public", "nat", "hints", "names"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if m["schema"] != resolve.Schema {
		t.Errorf("schema = %v", m["schema"])
	}
	pub := m["public"].(map[string]any)["ipv6"].(map[string]any)
	if pub["address"] != nil || pub["status"] != "not-found" {
		t.Errorf("public.ipv6 = %v, want null address, not-found", pub)
	}
}

func TestRunNames(t *testing.T) {
	t.Parallel()
	zone := map[string]resolvetest.Record{
		"dual.example.test.":   {A: []string{"192.0.2.10"}, AAAA: []string{"2001:db8::10"}, PTR: "dual.example.test."},
		"www.example.test.":    {CNAME: "dual.example.test."},
		"v4only.example.test.": {A: []string{"192.0.2.11"}},
	}
	d, err := resolvetest.StartDNS("127.0.0.1:0", nil, zone, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })

	cfg := baseConfig()
	cfg.DNSServer = d.Addr.String()
	cfg.Verbose = true
	cfg.Names = []string{"www.example.test.:443", "v4only.example.test.", "nosuch.example.test.", "192.0.2.1"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	rep, err := resolve.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Query, CNAME, Err string
		A, AAAA, Dial     []string
		NotFound          bool
		PTR               []string
	}
	var got []row
	for _, n := range rep.Names {
		r := row{Query: n.Query, CNAME: n.CNAME, Err: n.Err, NotFound: n.NotFound}
		for _, a := range n.A {
			r.A = append(r.A, a.String())
		}
		for _, a := range n.AAAA {
			r.AAAA = append(r.AAAA, a.String())
		}
		for _, a := range n.DialOrder {
			r.Dial = append(r.Dial, a.String())
		}
		for a, names := range n.Reverse {
			r.PTR = append(r.PTR, a.String()+"="+strings.Join(names, ","))
		}
		slices.Sort(r.PTR)
		got = append(got, r)
	}
	res := "dns@" + d.Addr.String()
	want := []row{
		{Query: "www.example.test.:443", CNAME: "dual.example.test.", A: []string{"192.0.2.10"}, AAAA: []string{"2001:db8::10"},
			Dial: []string{"192.0.2.10", "2001:db8::10"}, PTR: []string{"192.0.2.10=dual.example.test.", "2001:db8::10=dual.example.test."}}, // no IPv6 route: IPv4 first
		{Query: "v4only.example.test.", CNAME: "v4only.example.test.", A: []string{"192.0.2.11"}, Dial: []string{"192.0.2.11"}},
		{Query: "nosuch.example.test.", Err: "lookup nosuch.example.test. (" + res + "): no such host", NotFound: true},
		{Query: "192.0.2.1", A: []string{"192.0.2.1"}, Dial: []string{"192.0.2.1"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names mismatch (-want +got):\n%s", diff)
	}
	if err := rep.Err(cfg); err == nil || err.Error() != "1 of 4 names did not resolve" {
		t.Errorf("Err() = %v, want 1 of 4 names did not resolve", err)
	}
}

// TestRunNamesNoExternal: without --dns-server, SOCKCAT_NO_EXTERNAL keeps
// lookups to the hosts file: nothing is sent to the system's DNS server.
func TestRunNamesNoExternal(t *testing.T) {
	t.Parallel()
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig()
	cfg.HostsFile = hosts
	cfg.Names = []string{"localhost", "nosuch.example.test."}
	rep, err := resolve.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	lh, bad := rep.Names[0], rep.Names[1]
	if !lh.OK() || len(lh.A) == 0 || lh.A[0] != netip.MustParseAddr("127.0.0.1") || !lh.FromHosts {
		t.Errorf("localhost = %+v, want 127.0.0.1 from the hosts file", lh)
	}
	if bad.OK() || !strings.Contains(bad.Err, "SOCKCAT_NO_EXTERNAL") {
		t.Errorf("nosuch = %+v, want a refusal naming SOCKCAT_NO_EXTERNAL", bad)
	}
}

func TestRunLocalOnlyOneFamily(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Local, cfg.Only6 = true, true
	cfg.Lister = func() ([]netinfo.RawInterface, error) {
		return []netinfo.RawInterface{{Name: "eth0", Index: 2, Flags: net.FlagUp,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("fd00::2/64"), netip.MustParsePrefix("fe80::1/64")}}}, nil
	}
	rep, err := resolve.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := string(resolve.RenderTable(rep))
	if strings.Contains(out, "192.0.2.2") || !strings.Contains(out, "fd00::2/64") || !strings.Contains(out, "fe80::1%eth0/64") {
		t.Errorf("-6 local table:\n%s", out)
	}
	if strings.Contains(out, "PUBLIC") {
		t.Errorf("--local printed the public section:\n%s", out)
	}
}

func TestRunWSLHint(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Local = true
	cfg.ProcVersion = func() string { return "Linux version 5.15.90.1-microsoft-standard-WSL2" }
	rep, err := resolve.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range rep.Hints {
		found = found || strings.HasPrefix(h, "WSL2: ")
	}
	if !found {
		t.Errorf("hints lack the WSL2 warning: %q", rep.Hints)
	}
}
