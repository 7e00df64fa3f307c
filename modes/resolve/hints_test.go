package resolve

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/sockcat/sockcat/modes/resolve/netinfo"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

// TestHintsVirtualPrimary: when the route out goes through a virtual
// adapter (a veth), the hints do not tell LAN peers to dial its address and
// then, two lines on, call it unreachable: one hint explains it.
func TestHintsVirtualPrimary(t *testing.T) {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning
	ifs := netinfo.Describe([]netinfo.RawInterface{
		{Name: "lo", Index: 1, Flags: net.FlagUp | net.FlagLoopback | net.FlagRunning, SysVirtual: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		{Name: "veth0", Index: 4, Flags: up, SysVirtual: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("10.99.0.1/24")}},
		{Name: "docker0", Index: 5, Flags: up, SysVirtual: true,
			Prefixes: []netip.Prefix{netip.MustParsePrefix("172.17.0.1/16")}},
	}, nil)
	r := &Report{ShowLocal: true, Families: []bool{false}, Interfaces: ifs,
		Primary: [2]Primary{{Addr: netip.MustParseAddr("10.99.0.1"), Interface: "veth0"}}}
	got := hints(&Config{ProcVersion: func() string { return "Linux" }}, r)
	all := strings.Join(got, "\n")
	if strings.Contains(all, "LAN peers dial 10.99.0.1") {
		t.Errorf("hints tell LAN peers to dial the veth address:\n%s", all)
	}
	if n := strings.Count(all, "veth0"); n != 1 {
		t.Errorf("veth0 is named in %d hints, want 1:\n%s", n, all)
	}
	if !strings.Contains(all, "IPv4: the route out goes through veth0, a virtual adapter") || !strings.Contains(all, "not from your LAN") {
		t.Errorf("no hint explains the virtual route:\n%s", all)
	}
	if !strings.Contains(all, "docker0 (172.17.0.1) is a virtual adapter") {
		t.Errorf("the other virtual adapter lost its warning:\n%s", all)
	}
}

// TestVirtualNote: the table says "virtual" once.
func TestVirtualNote(t *testing.T) {
	for _, tt := range []struct{ reason, want string }{
		{"virtual device (/sys/devices/virtual)", "virtual device (/sys/devices/virtual)"},
		{"veth pair", "virtual: veth pair"},
		{"VirtualBox host-only: only VMs on this host", "virtual: VirtualBox host-only: only VMs on this host"},
	} {
		if got := virtualNote(tt.reason); got != tt.want {
			t.Errorf("virtualNote(%q) = %q, want %q", tt.reason, got, tt.want)
		}
	}
}

// TestNoPublicReason: "no public address found" says why, per family.
func TestNoPublicReason(t *testing.T) {
	notFound := &publicip.Result{Status: publicip.StatusNotFound, Sources: []publicip.Source{
		{Method: publicip.MethodSTUN, Server: "127.0.0.1:9", Err: "timeout: no answer to 4 requests"},
	}}
	r := &Report{Families: []bool{false, true}, PublicConfigured: true, Public: [2]*publicip.Result{notFound, {V6: true, Status: publicip.StatusConflict}}}
	want := "IPv4: stun: timeout: no answer to 4 requests (UDP may be blocked); IPv6: sources disagree"
	if got := NoPublicReason(r); got != want {
		t.Errorf("NoPublicReason = %q, want %q", got, want)
	}
	r = &Report{Families: []bool{false}}
	if got := NoPublicReason(r); !strings.Contains(got, "no public servers configured") {
		t.Errorf("NoPublicReason without servers = %q", got)
	}
	r = &Report{Families: []bool{false}, PublicConfigured: true, Public: [2]*publicip.Result{notFound}}
	err := r.Err(&Config{Short: true})
	if !errors.Is(err, ErrNoPublicAddress) || !strings.HasSuffix(err.Error(), "(IPv4: stun: timeout: no answer to 4 requests (UDP may be blocked))") {
		t.Errorf("Err = %v, want %v with the reason", err, ErrNoPublicAddress)
	}
}
