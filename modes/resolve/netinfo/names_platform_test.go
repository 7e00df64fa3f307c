package netinfo_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes/resolve/netinfo"
)

// TestVirtualReasonAdapterNames classifies the adapter names Windows,
// macOS and FreeBSD give real interfaces (as net.Interfaces reports them:
// the friendly name on Windows). Physical LAN adapters must stay
// unflagged; the virtual ones must say what they are.
func TestVirtualReasonAdapterNames(t *testing.T) {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning
	tests := []struct {
		name string
		want string // "" = physical
	}{
		// Windows 10/11.
		{"Ethernet", ""},
		{"Ethernet 2", ""},
		{"Wi-Fi", ""},
		{"WLAN", ""},
		{"vEthernet (WSL)", "WSL virtual switch (Hyper-V): only the WSL VM on this host"},
		{"vEthernet (WSL (Hyper-V firewall))", "WSL virtual switch (Hyper-V): only the WSL VM on this host"},
		{"vEthernet (Default Switch)", "Hyper-V virtual switch (vEthernet): VMs and containers on this host"},
		{"vEthernet (nat)", "Hyper-V virtual switch (vEthernet): VMs and containers on this host"},
		{"VirtualBox Host-Only Network", "VirtualBox host-only: only VMs on this host"},
		{"VirtualBox Host-Only Network #2", "VirtualBox host-only: only VMs on this host"},
		{"VMware Network Adapter VMnet1", "VMware virtual network: only VMs on this host"},
		{"VMware Network Adapter VMnet8", "VMware virtual network: only VMs on this host"},
		{"Local Area Connection* 1", "Wi-Fi Direct virtual adapter: not the LAN"},
		{"Local Area Connection", ""},
		{"Loopback Pseudo-Interface 1", "loopback"},
		{"Npcap Loopback Adapter", "Npcap loopback capture adapter"},
		{"Tailscale", "tailscale VPN"},
		{"ZeroTier One [8056c2e21c000001]", "ZeroTier VPN"},
		{"OpenVPN Data Channel Offload", "OpenVPN adapter"},
		// macOS.
		{"en0", ""},
		{"en1", ""},
		{"bridge0", "bridge (Internet Sharing, VMs or Thunderbolt Bridge): not the LAN adapter"},
		{"bridge100", "bridge (Internet Sharing, VMs or Thunderbolt Bridge): not the LAN adapter"},
		{"utun0", "tunnel"},
		{"utun4", "tunnel"},
		{"awdl0", "Apple Wireless Direct Link (AirDrop): not a LAN"},
		{"llw0", "low-latency WLAN (AirDrop companion): not a LAN"},
		{"anpi0", "Apple internal network processor link"},
		{"ap1", "Wi-Fi access point of Internet Sharing"},
		{"gif0", "IPv6-in-IPv4 tunnel pseudo-interface"},
		{"stf0", "6to4 tunnel pseudo-interface"},
		{"vboxnet0", "VirtualBox host-only: only VMs on this host"},
		{"vmnet8", "VMware virtual network: only VMs on this host"},
		{"feth0", "fake ethernet pair"},
		// FreeBSD.
		{"em0", ""},
		{"igb0", ""},
		{"re0", ""},
		{"vtnet0", ""}, // the NIC of a FreeBSD guest: its LAN
		{"epair0a", "jail virtual ethernet pair (FreeBSD)"},
		{"tap0", "tap device"},
		{"tun0", "tunnel"},
		{"wg0", "WireGuard tunnel"},
		{"pflog0", "pf log pseudo-interface"},
		{"pfsync0", "pf state sync pseudo-interface"},
		// Linux.
		{"eth0", ""},
		{"wlp2s0", ""},
		{"docker0", "docker bridge: not reachable from the LAN"},
		{"virbr0", "libvirt bridge: only VMs on this host"},
	}
	got := map[string]string{}
	want := map[string]string{}
	for _, tt := range tests {
		raw := netinfo.RawInterface{Name: tt.name, Flags: up, HardwareAddr: net.HardwareAddr{0x52, 0x54, 0, 1, 2, 3},
			Prefixes: []netip.Prefix{netip.MustParsePrefix("192.168.1.10/24")}}
		got[tt.name] = netinfo.VirtualReason(raw)
		want[tt.name] = tt.want
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VirtualReason mismatch (-want +got):\n%s", diff)
	}
}

// TestDescribeFlagsUnknown checks that IPv6 addresses get the reason their
// flags are unknown when no flag table was read, and IPv4 never does.
func TestDescribeFlagsUnknown(t *testing.T) {
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast | net.FlagRunning
	raw := []netinfo.RawInterface{{Name: "en0", Index: 4, Flags: up, Prefixes: []netip.Prefix{
		netip.MustParsePrefix("192.168.1.10/24"), netip.MustParsePrefix("2001:db8::10/64")}}}
	for _, tt := range []struct {
		name string
		v6   map[netip.Addr]netinfo.V6Flags
		want []bool // FlagsUnknown != "" per address
	}{
		{"no table", nil, []bool{false, true}},
		{"table read", map[netip.Addr]netinfo.V6Flags{}, []bool{false, false}},
	} {
		var got []bool
		for _, a := range netinfo.Describe(raw, tt.v6)[0].Addrs {
			got = append(got, a.FlagsUnknown != "")
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: FlagsUnknown mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}
