package resolve

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/sockcat/sockcat/modes/resolve/netinfo"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

func familyName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

// dialForm returns how a peer writes a at PORT: 192.0.2.2:PORT, [2001:db8::1]:PORT.
func dialForm(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]:PORT"
	}
	return a.String() + ":PORT"
}

// hints are the plain-language conclusions, in priority order: failures
// first, then what to give to peers, then warnings.
func hints(cfg *Config, r *Report) []string {
	if !r.ShowLocal && !r.ShowPublic {
		return nil
	}
	var out []string
	if r.ShowPublic && !r.PublicConfigured {
		out = append(out, "no public servers configured (SOCKCAT_NO_EXTERNAL=1 or \"none\"): the public address was not checked")
	}
	for _, v6 := range r.Families {
		fn := familyName(v6)
		p := r.Primary[fam(v6)]
		if !p.Addr.IsValid() {
			if p.Err != "" {
				out = append(out, fmt.Sprintf("%s: no route to the internet (%s): peers elsewhere cannot reach this host over %s", fn, p.Err, fn))
			}
		} else {
			wild := "0.0.0.0"
			if v6 {
				wild = "::"
			}
			if ifc := virtualInterface(r.Interfaces, p.Interface); ifc != nil {
				// Not "LAN peers dial": the route out is a virtual network.
				out = append(out, fmt.Sprintf("%s: the route out goes through %s, a virtual adapter (%s): %s is reachable only from that virtual network (this host, its containers or VMs), not from your LAN; listen with: sockcat -l %s PORT",
					fn, ifc.Name, ifc.VirtualReason, p.Addr, wild))
			} else {
				out = append(out, fmt.Sprintf("%s: LAN peers dial %s; listen with: sockcat -l %s PORT", fn, dialForm(p.Addr), wild))
			}
			if v6 {
				if stable, tmp := stableV6(r.Interfaces, p.Addr); tmp && stable.IsValid() {
					out = append(out, fmt.Sprintf("IPv6: %s is a temporary (privacy) address used for outbound connections; give peers the stable %s", p.Addr, stable))
				}
			}
			if cgnatPrimary(p) {
				out = append(out, fmt.Sprintf("%s: %s is carrier-grade NAT space (100.64.0.0/10): internet peers cannot connect in over IPv4; use IPv6, a relay or a tunnel", fn, p.Addr))
			}
		}
		if r.ShowPublic && r.PublicConfigured {
			out = append(out, publicHints(fn, p, r.Public[fam(v6)], r.NAT[fam(v6)])...)
		}
	}
	if r.ShowLocal || r.ShowPublic {
		for _, ifc := range r.Interfaces {
			if !ifc.Virtual || ifc.Loopback || !ifc.Up || primaryOn(r, ifc.Name) {
				continue // the primary's own adapter was explained with it
			}
			var addrs []string
			for _, a := range ifc.Addrs {
				if a.Kind != netinfo.KindLinkLocal {
					addrs = append(addrs, a.Addr.String())
				}
			}
			if len(addrs) == 0 {
				continue
			}
			out = append(out, fmt.Sprintf("%s (%s) is a virtual adapter (%s): peers on your LAN cannot reach that address", ifc.Name, strings.Join(addrs, ", "), ifc.VirtualReason))
		}
		procVersion := readProcVersion
		if cfg.ProcVersion != nil {
			procVersion = cfg.ProcVersion
		}
		if strings.Contains(strings.ToLower(procVersion()), "microsoft") {
			out = append(out, "WSL2: this system is behind the Windows host's NAT: LAN peers reach it only through a portproxy rule on Windows (netsh interface portproxy)")
		}
	}
	return append(out, portmapHints(r)...)
}

// virtualInterface returns the virtual, non-loopback interface named name,
// or nil.
func virtualInterface(ifs []netinfo.Interface, name string) *netinfo.Interface {
	for i := range ifs {
		if ifs[i].Name == name && name != "" && ifs[i].Virtual && !ifs[i].Loopback {
			return &ifs[i]
		}
	}
	return nil
}

// primaryOn reports whether a family's primary address is on interface name.
func primaryOn(r *Report, name string) bool {
	for _, v6 := range r.Families {
		if p := r.Primary[fam(v6)]; p.Addr.IsValid() && p.Interface == name {
			return true
		}
	}
	return false
}

// NoPublicReason says, per family asked for, why no public address was
// found: the line that follows "no public address found".
func NoPublicReason(r *Report) string {
	if !r.PublicConfigured {
		return "no public servers configured (SOCKCAT_NO_EXTERNAL=1 or \"none\")"
	}
	var parts []string
	for _, v6 := range r.Families {
		res := r.Public[fam(v6)]
		switch {
		case res == nil:
		case res.Status == publicip.StatusConflict:
			parts = append(parts, familyName(v6)+": sources disagree")
		case !res.Address.IsValid():
			parts = append(parts, familyName(v6)+": "+failureSummary(res.Sources))
		}
	}
	return strings.Join(parts, "; ")
}

// cgnatPrimary reports whether the primary address is in the shared
// carrier-grade NAT space; tailscale uses the same range for its tailnet.
func cgnatPrimary(p Primary) bool {
	return netinfo.Classify(p.Addr) == netinfo.KindCGNAT && !strings.HasPrefix(strings.ToLower(p.Interface), "tailscale")
}

func readProcVersion() string {
	b, _ := os.ReadFile("/proc/version")
	return string(b)
}

// stableV6 reports whether primary is a temporary IPv6 address and, if so,
// a stable global address on the same interface.
func stableV6(ifs []netinfo.Interface, primary netip.Addr) (netip.Addr, bool) {
	for _, ifc := range ifs {
		tmp := false
		for _, a := range ifc.Addrs {
			if a.Addr == primary && a.Temporary {
				tmp = true
			}
		}
		if !tmp {
			continue
		}
		for _, a := range ifc.Addrs {
			if a.Addr.Is6() && !a.Temporary && !a.Deprecated && (a.Kind == netinfo.KindGlobal || a.Kind == netinfo.KindULA || a.Kind == netinfo.KindDocumentation) {
				return a.Addr, true
			}
		}
		return netip.Addr{}, true
	}
	return netip.Addr{}, false
}

// publicHints explains one family's public result.
func publicHints(fn string, p Primary, res *publicip.Result, nat *publicip.NAT) []string {
	if res == nil || nat == nil {
		return nil
	}
	var out []string
	switch res.Status {
	case publicip.StatusNotFound:
		return []string{fmt.Sprintf("%s: no public address found (%s)", fn, failureSummary(res.Sources))}
	case publicip.StatusConflict:
		var parts []string
		for _, s := range res.Sources {
			if s.OK() {
				parts = append(parts, fmt.Sprintf("%s from %s %s", s.Address, s.Method, s.Server))
			}
		}
		return []string{fmt.Sprintf("%s: sources disagree (%s): no address is reported; this host may have several public addresses, or a middlebox rewrites answers", fn, strings.Join(parts, "; "))}
	}
	if res.Kind != netinfo.KindGlobal {
		out = append(out, fmt.Sprintf("%s: the answer %s is %s, not a public internet address: the servers asked see this host from a private network", fn, res.Address, res.Kind))
	}
	if !nat.BehindNAT {
		out = append(out, fmt.Sprintf("%s: no NAT: the public address is on this host; internet peers dial %s directly if no firewall blocks PORT", fn, dialForm(res.Address)))
		return out
	}
	switch {
	case nat.CGNAT && cgnatPrimary(p):
		// Already said with the primary address.
	case nat.CGNAT:
		out = append(out, fmt.Sprintf("%s: double NAT (the servers see %s, a %s address): internet peers cannot connect in over %s through a single port forward; use IPv6, a relay or a tunnel", fn, res.Address, res.Kind, fn))
	case p.Addr.IsValid():
		out = append(out, fmt.Sprintf("%s: internet peers dial %s only after you forward PORT to %s on your router", fn, dialForm(res.Address), dialForm(p.Addr)))
	default:
		out = append(out, fmt.Sprintf("%s: internet peers dial %s only after you forward PORT on your router", fn, dialForm(res.Address)))
	}
	if nat.MultiplePublicIPs {
		out = append(out, fmt.Sprintf("%s: STUN servers saw different public addresses: several public IPs or a load-balanced carrier-grade NAT; peers may see any of them", fn))
	} else if nat.Mapping == publicip.MappingAddressDependent {
		out = append(out, fmt.Sprintf("%s: the NAT gives each destination its own port (address-dependent, \"symmetric\"): a port forward still works, but peer-to-peer hole punching will not", fn))
	}
	return out
}

// failureSummary says, per method, why it failed, e.g.
// "stun: timeout (UDP may be blocked); dns: timeout".
func failureSummary(sources []publicip.Source) string {
	var parts []string
	seen := map[publicip.Method]bool{}
	for _, s := range sources {
		if seen[s.Method] || s.OK() {
			continue
		}
		seen[s.Method] = true
		msg := fmt.Sprintf("%s: %s", s.Method, s.Err)
		if s.Method == publicip.MethodSTUN && strings.HasPrefix(s.Err, "timeout") {
			msg += " (UDP may be blocked)"
		}
		parts = append(parts, msg)
	}
	if len(parts) == 0 {
		return "no source answered"
	}
	return strings.Join(parts, "; ")
}
