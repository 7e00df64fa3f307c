package resolve

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"text/tabwriter"

	"github.com/sockcat/sockcat/modes/portmap"
)

// The portmap section (SPEC §14): the default gateway and whether it
// answers NAT-PMP, PCP and UPnP. It asks no mapping. SOCKCAT_NO_EXTERNAL
// does not skip it (the gateway is on the local network); --no-portmap does.

// wantPortmap reports whether the section is gathered: with the public
// section (reachability from the internet is its question), so not with
// --local alone, --no-public (nothing leaves the host), --short or names
// only; and not with --no-portmap.
func wantPortmap(cfg *Config, r *Report) bool {
	return !cfg.NoPortmap && !cfg.Short && r.ShowPublic
}

// gatherPortmap probes the gateway under the resolve deadline.
func gatherPortmap(ctx context.Context, cfg *Config, r *Report) {
	probe := cfg.Portmap
	if probe == nil {
		probe = func(ctx context.Context) portmap.ProbeResult {
			return portmap.Probe(ctx, portmap.ProbeOptions{Timeout: cfg.Timeout})
		}
	}
	res := probe(ctx)
	r.Portmap = &res
}

type jsonPortmap struct {
	Gateway *string          `json:"gateway"`
	NATPMP  jsonPortmapState `json:"natpmp"`
	PCP     jsonPortmapState `json:"pcp"`
	UPnP    jsonPortmapState `json:"upnp"`
}

type jsonPortmapState struct {
	Available  bool    `json:"available"`
	ExternalIP *string `json:"external_ip"`
	Error      *string `json:"error"`
}

// portmapJSON is the "portmap" object; nil (null) when not gathered. With
// no gateway, each method's error says why.
func portmapJSON(p *portmap.ProbeResult) *jsonPortmap {
	if p == nil {
		return nil
	}
	st := func(s portmap.Status) jsonPortmapState {
		j := jsonPortmapState{Available: s.Available, ExternalIP: addrp(s.ExternalIP)}
		switch {
		case s.Err != "":
			j.Error = strp(s.Err)
		case !s.Available && p.Err != "":
			j.Error = strp(p.Err)
		}
		return j
	}
	return &jsonPortmap{Gateway: addrp(p.Gateway), NATPMP: st(p.NATPMP), PCP: st(p.PCP), UPnP: st(p.UPnP)}
}

// writePortmapTable writes the PORT MAPPING section of the table.
func writePortmapTable(w io.Writer, p *portmap.ProbeResult) {
	if p.Err != "" {
		fmt.Fprintf(w, "  no gateway: %s\n", p.Err)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  METHOD\tANSWER\tEXTERNAL\tNOTE")
	for _, m := range portmapMethods(p) {
		answer, ext := "no", "-"
		if m.s.Available {
			answer = "yes"
		}
		if m.s.ExternalIP.IsValid() {
			ext = m.s.ExternalIP.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.name, answer, ext, m.s.Err)
	}
	tw.Flush()
}

type namedStatus struct {
	name string
	s    portmap.Status
}

func portmapMethods(p *portmap.ProbeResult) []namedStatus {
	return []namedStatus{{portmap.MethodNATPMP, p.NATPMP}, {portmap.MethodPCP, p.PCP}, {portmap.MethodUPnP, p.UPnP}}
}

// portmapTitle is the section's heading.
func portmapTitle(p *portmap.ProbeResult) string {
	if p.Gateway.IsValid() {
		return "PORT MAPPING  (gateway " + p.Gateway.String() + ")"
	}
	return "PORT MAPPING"
}

// portmapHints says which method to use, or why a mapping would not help
// (the router's external address is private or CGNAT, or not the public
// address found).
func portmapHints(r *Report) []string {
	p := r.Portmap
	if p == nil {
		return nil
	}
	var offered []string
	ext := netip.Addr{}
	for _, m := range portmapMethods(p) {
		if m.s.Available {
			offered = append(offered, m.name)
			if !ext.IsValid() {
				ext = m.s.ExternalIP
			}
		}
	}
	if len(offered) == 0 {
		return nil
	}
	var public netip.Addr
	if r.Public[0] != nil {
		public = r.Public[0].Address
	}
	if ext.IsValid() {
		if why := portmap.DoubleNAT(ext, public); why != "" {
			return []string{fmt.Sprintf("double NAT: %s: a port mapping on that router (--map-port) does not make this host reachable from the internet", why)}
		}
	}
	return []string{fmt.Sprintf("your router offers %s: sockcat -l --map-port 9090 opens port 9090 to the internet", joinOr(offered))}
}

func joinOr(s []string) string {
	switch len(s) {
	case 1:
		return s[0]
	case 2:
		return s[0] + " and " + s[1]
	}
	return s[0] + ", " + s[1] + " and " + s[2]
}
