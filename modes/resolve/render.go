package resolve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sockcat/sockcat/modes/resolve/netinfo"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

// Schema is the version tag of the JSON output. Fields are only ever added
// under it; none disappears, and a missing value is null.
const Schema = "sockcat.resolve/v1"

// Write renders the report as JSON, as the bare public addresses of
// --short, or as the human table.
func Write(w io.Writer, r *Report, cfg *Config) error {
	var b []byte
	var err error
	switch {
	case cfg.JSON:
		b, err = RenderJSON(r)
	case cfg.Short:
		b = RenderShort(r)
	default:
		b = RenderTable(r)
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// RenderShort returns the public addresses found, IPv4 first, one a line.
func RenderShort(r *Report) []byte {
	var b bytes.Buffer
	for _, p := range r.Public {
		if p != nil && p.Address.IsValid() {
			fmt.Fprintln(&b, p.Address)
		}
	}
	return b.Bytes()
}

// JSON shapes. Pointers and slices are null when the value is missing;
// every field is always present.
type (
	jsonReport struct {
		Schema   string       `json:"schema"`
		Time     string       `json:"time"`
		Hostname string       `json:"hostname"`
		Local    *jsonLocal   `json:"local"`
		Public   *jsonFamily  `json:"public"`
		NAT      *jsonNATs    `json:"nat"`
		Hints    []string     `json:"hints"`
		Names    []jsonName   `json:"names"`
		Portmap  *jsonPortmap `json:"portmap"`
	}
	jsonLocal struct {
		Interfaces []jsonInterface `json:"interfaces"`
		Primary    jsonPrimaries   `json:"primary"`
	}
	jsonInterface struct {
		Name          string     `json:"name"`
		Index         int        `json:"index"`
		MAC           *string    `json:"mac"`
		MTU           int        `json:"mtu"`
		Flags         []string   `json:"flags"`
		Hidden        bool       `json:"hidden"`
		Virtual       bool       `json:"virtual"`
		VirtualReason string     `json:"virtual_reason"`
		Addresses     []jsonAddr `json:"addresses"`
	}
	jsonAddr struct {
		Address   string `json:"address"`
		PrefixLen int    `json:"prefix_len"`
		Family    string `json:"family"`
		Kind      string `json:"kind"`
		Zone      string `json:"zone"`
		Primary   bool   `json:"primary"`
		// The IPv6 flags are null where the platform does not tell them;
		// FlagsUnknown then says why (null otherwise).
		Temporary    *bool   `json:"temporary"`
		Deprecated   *bool   `json:"deprecated"`
		Tentative    *bool   `json:"tentative"`
		FlagsUnknown *string `json:"flags_unknown"`
	}
	jsonPrimaries struct {
		IPv4   *jsonPrimary      `json:"ipv4"`
		IPv6   *jsonPrimary      `json:"ipv6"`
		Errors map[string]string `json:"errors"`
	}
	jsonPrimary struct {
		Address   string  `json:"address"`
		Interface *string `json:"interface"`
		Method    string  `json:"method"`
	}
	jsonFamily struct {
		IPv4       *jsonPublic `json:"ipv4"`
		IPv6       *jsonPublic `json:"ipv6"`
		Configured bool        `json:"configured"`
	}
	jsonPublic struct {
		Address   *string      `json:"address"`
		Kind      *string      `json:"kind"`
		NonPublic bool         `json:"non_public"`
		Status    string       `json:"status"`
		Agree     int          `json:"agree"`
		ElapsedMS int64        `json:"elapsed_ms"`
		Sources   []jsonSource `json:"sources"`
	}
	jsonSource struct {
		Method     string  `json:"method"`
		Server     string  `json:"server"`
		ServerAddr *string `json:"server_addr"`
		Address    *string `json:"address"`
		MappedPort *int    `json:"mapped_port"`
		LocalPort  *int    `json:"local_port"`
		RTTMS      *int64  `json:"rtt_ms"`
		Error      *string `json:"error"`
	}
	jsonNATs struct {
		IPv4 *jsonNAT `json:"ipv4"`
		IPv6 *jsonNAT `json:"ipv6"`
	}
	jsonNAT struct {
		BehindNAT           *bool   `json:"behind_nat"`
		PublicOnInterface   *bool   `json:"public_on_interface"`
		Local               *string `json:"local"`
		Public              *string `json:"public"`
		Mapping             string  `json:"mapping"`
		MappingVariesByDest *bool   `json:"mapping_varies_by_dest"`
		MultiplePublicIPs   bool    `json:"multiple_public_ips"`
		PortPreserved       *bool   `json:"port_preserved"`
		CGNAT               bool    `json:"cgnat"`
	}
	jsonName struct {
		Query     string              `json:"query"`
		Host      string              `json:"host"`
		Port      *int                `json:"port"`
		Resolver  string              `json:"resolver"`
		CNAME     *string             `json:"cname"`
		A         []string            `json:"a"`
		AAAA      []string            `json:"aaaa"`
		FromHosts bool                `json:"from_hosts"`
		HostsAddr []string            `json:"hosts_addresses"`
		DialOrder []string            `json:"dial_order"`
		Reverse   map[string][]string `json:"reverse"`
		Notes     []string            `json:"notes"`
		Error     *string             `json:"error"`
		NotFound  bool                `json:"not_found"`
	}
)

func strp(s string) *string { return &s }

func addrp(a netip.Addr) *string {
	if !a.IsValid() {
		return nil
	}
	return strp(a.String())
}

func strs(as []netip.Addr) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

// RenderJSON renders the report as one indented JSON document.
func RenderJSON(r *Report) ([]byte, error) {
	j := jsonReport{
		Schema:   Schema,
		Time:     r.Time.Format(time.RFC3339),
		Hostname: r.Hostname,
		Hints:    append([]string{}, r.Hints...),
		Names:    []jsonName{},
	}
	if r.ShowLocal || r.ShowPublic {
		j.Local = localJSON(r)
	}
	if r.ShowPublic {
		j.Public = &jsonFamily{Configured: r.PublicConfigured}
		j.NAT = &jsonNATs{}
		j.Public.IPv4, j.Public.IPv6 = publicJSON(r.Public[0]), publicJSON(r.Public[1])
		j.NAT.IPv4, j.NAT.IPv6 = natJSON(r.NAT[0]), natJSON(r.NAT[1])
	}
	for _, n := range r.Names {
		j.Names = append(j.Names, nameJSON(n))
	}
	j.Portmap = portmapJSON(r.Portmap)
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode json: %w", err)
	}
	return append(b, '\n'), nil
}

func localJSON(r *Report) *jsonLocal {
	l := &jsonLocal{Interfaces: []jsonInterface{}, Primary: jsonPrimaries{Errors: map[string]string{}}}
	for _, ifc := range r.Interfaces {
		ji := jsonInterface{
			Name: ifc.Name, Index: ifc.Index, MTU: ifc.MTU, Flags: append([]string{}, ifc.Flags...),
			Hidden: ifc.Hidden(), Virtual: ifc.Virtual, VirtualReason: ifc.VirtualReason,
			Addresses: []jsonAddr{},
		}
		if ifc.MAC != "" {
			ji.MAC = strp(ifc.MAC)
		}
		for _, a := range ifc.Addrs {
			ja := jsonAddr{
				Address: a.Addr.String(), PrefixLen: a.PrefixLen, Family: "ipv4",
				Kind: string(a.Kind), Zone: a.Addr.Zone(),
			}
			if a.FlagsUnknown != "" {
				ja.FlagsUnknown = strp(a.FlagsUnknown)
			} else {
				ja.Temporary, ja.Deprecated, ja.Tentative = &a.Temporary, &a.Deprecated, &a.Tentative
			}
			if a.Addr.Is6() {
				ja.Family = "ipv6"
			}
			for _, p := range r.Primary {
				if p.Addr.IsValid() && p.Addr == a.Addr.WithZone("") {
					ja.Primary = true
				}
			}
			ji.Addresses = append(ji.Addresses, ja)
		}
		l.Interfaces = append(l.Interfaces, ji)
	}
	for i, p := range r.Primary {
		key := []string{"ipv4", "ipv6"}[i]
		if p.Err != "" {
			l.Primary.Errors[key] = p.Err
		}
		if !p.Addr.IsValid() {
			continue
		}
		jp := &jsonPrimary{Address: p.Addr.String(), Method: "route-probe"}
		if p.Interface != "" {
			jp.Interface = strp(p.Interface)
		}
		if i == 0 {
			l.Primary.IPv4 = jp
		} else {
			l.Primary.IPv6 = jp
		}
	}
	return l
}

func publicJSON(res *publicip.Result) *jsonPublic {
	if res == nil {
		return nil
	}
	jp := &jsonPublic{
		Address: addrp(res.Address), Status: string(res.Status), Agree: res.Agree,
		ElapsedMS: res.Elapsed.Milliseconds(), Sources: []jsonSource{},
	}
	if res.Address.IsValid() {
		jp.Kind = strp(string(res.Kind))
		jp.NonPublic = res.Kind != netinfo.KindGlobal
	}
	for _, s := range res.Sources {
		js := jsonSource{Method: string(s.Method), Server: s.Server, Address: addrp(s.Address)}
		if s.ServerAddr.IsValid() {
			js.ServerAddr = strp(s.ServerAddr.String())
		}
		if s.Method == publicip.MethodSTUN {
			if s.OK() {
				js.MappedPort = &s.MappedPort
			}
			if s.LocalPort != 0 {
				js.LocalPort = &s.LocalPort
			}
		}
		if s.OK() {
			ms := s.RTT.Milliseconds()
			js.RTTMS = &ms
		}
		if s.Err != "" {
			js.Error = strp(s.Err)
		}
		jp.Sources = append(jp.Sources, js)
	}
	return jp
}

func natJSON(n *publicip.NAT) *jsonNAT {
	if n == nil {
		return nil
	}
	jn := &jsonNAT{
		Local: addrp(n.Local), Public: addrp(n.Public), Mapping: string(n.Mapping),
		MappingVariesByDest: n.MappingVariesByDest, MultiplePublicIPs: n.MultiplePublicIPs,
		PortPreserved: n.PortPreserved, CGNAT: n.CGNAT,
	}
	if n.Known {
		jn.BehindNAT = &n.BehindNAT
		jn.PublicOnInterface = &n.PublicOnInterface
	}
	return jn
}

func nameJSON(n NameResult) jsonName {
	jn := jsonName{
		Query: n.Query, Host: n.Host, Resolver: n.Resolver,
		A: strs(n.A), AAAA: strs(n.AAAA), FromHosts: n.FromHosts, HostsAddr: strs(n.HostsAddr),
		DialOrder: strs(n.DialOrder), Notes: append([]string{}, n.Notes...), NotFound: n.NotFound,
	}
	if n.Port != 0 {
		p := n.Port
		jn.Port = &p
		for i, a := range n.DialOrder {
			jn.DialOrder[i] = netip.AddrPortFrom(a, uint16(p)).String()
		}
	}
	if n.CNAME != "" {
		jn.CNAME = strp(n.CNAME)
	}
	if n.Reverse != nil {
		jn.Reverse = map[string][]string{}
		for a, names := range n.Reverse {
			jn.Reverse[a.String()] = names
		}
	}
	if n.Err != "" {
		jn.Error = strp(n.Err)
	}
	return jn
}

// RenderTable renders the human-readable report.
func RenderTable(r *Report) []byte {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	section := func(title string) {
		tw.Flush()
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintln(&b, title)
	}
	if r.ShowLocal {
		section("LOCAL  (host " + r.Hostname + ")")
		fmt.Fprintln(tw, "  IFACE\tADDRESS\tKIND\tNOTE")
		for _, ifc := range r.Interfaces {
			if ifc.Hidden() && !r.AllInterfaces {
				continue
			}
			if len(ifc.Addrs) == 0 {
				fmt.Fprintf(tw, "  %s\t-\t-\t%s\n", ifc.Name, ifaceNote(ifc, netinfo.Addr{}, r))
			}
			for _, a := range ifc.Addrs {
				fmt.Fprintf(tw, "  %s\t%s/%d\t%s\t%s\n", ifc.Name, a.Addr, a.PrefixLen, a.Kind, ifaceNote(ifc, a, r))
			}
		}
		tw.Flush()
		for _, v6 := range r.Families {
			p := r.Primary[fam(v6)]
			if !p.Addr.IsValid() {
				fmt.Fprintf(&b, "  primary %s: none (%s)\n", familyName(v6), p.Err)
			}
		}
	}
	if r.ShowPublic {
		section("PUBLIC")
		fmt.Fprintln(tw, "  FAMILY\tADDRESS\tSTATUS\tSOURCES")
		for _, v6 := range r.Families {
			res := r.Public[fam(v6)]
			if res == nil {
				continue
			}
			addr := "-"
			if res.Address.IsValid() {
				addr = res.Address.String()
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", familyName(v6), addr, res.Status, sourceSummary(res))
			if r.Verbose {
				for _, s := range res.Sources {
					fmt.Fprintf(tw, "  \t\t\t%s\n", sourceLine(s))
				}
			}
		}
		tw.Flush()
		section("NAT")
		for _, v6 := range r.Families {
			if n := r.NAT[fam(v6)]; n != nil {
				fmt.Fprintf(tw, "  %s\t%s\n", familyName(v6), natLine(n, r.Public[fam(v6)]))
			}
		}
		tw.Flush()
	}
	if r.Portmap != nil {
		section(portmapTitle(r.Portmap))
		writePortmapTable(&b, r.Portmap)
	}
	if len(r.Hints) > 0 {
		section("HINTS")
		for _, h := range r.Hints {
			fmt.Fprintf(&b, "  - %s\n", h)
		}
	}
	if r.ShowNames {
		section("NAMES")
		for _, n := range r.Names {
			writeName(tw, n, r.Verbose)
			tw.Flush()
		}
	}
	tw.Flush()
	return trimLines(b.Bytes())
}

// trimLines drops the spaces tabwriter leaves after an empty last column.
func trimLines(b []byte) []byte {
	lines := bytes.Split(b, []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimRight(l, " ")
	}
	return bytes.Join(lines, []byte("\n"))
}

// ifaceNote is the NOTE column of the local table.
func ifaceNote(ifc netinfo.Interface, a netinfo.Addr, r *Report) string {
	var notes []string
	for i, p := range r.Primary {
		if a.Addr.IsValid() && p.Addr.IsValid() && p.Addr == a.Addr.WithZone("") {
			notes = append(notes, "primary "+familyName(i == 1)+" (route to internet)")
		}
	}
	if a.Temporary {
		notes = append(notes, "temporary: outbound only")
	}
	if a.Deprecated {
		notes = append(notes, "deprecated")
	}
	if a.Tentative {
		notes = append(notes, "tentative")
	}
	if ifc.Virtual {
		notes = append(notes, virtualNote(ifc.VirtualReason))
	}
	if !ifc.Up {
		notes = append(notes, "down")
	}
	return strings.Join(notes, "; ")
}

// sourceSummary lists the sources that answered, or the count that failed.
func sourceSummary(res *publicip.Result) string {
	var ok []string
	failed := 0
	for _, s := range res.Sources {
		if s.OK() {
			if res.Status == publicip.StatusConflict {
				ok = append(ok, fmt.Sprintf("%s %s=%s", s.Method, s.Server, s.Address))
			} else {
				ok = append(ok, fmt.Sprintf("%s %s", s.Method, s.Server))
			}
		} else {
			failed++
		}
	}
	out := strings.Join(ok, ", ")
	if failed > 0 {
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("%d failed (-v shows why)", failed)
	}
	if out == "" {
		out = "none asked"
	}
	return out
}

// sourceLine is one source in -v output.
func sourceLine(s publicip.Source) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", s.Method, s.Server)
	if s.ServerAddr.IsValid() && s.Method != publicip.MethodSTUN {
		fmt.Fprintf(&b, " (%s)", s.ServerAddr)
	}
	if s.OK() {
		fmt.Fprintf(&b, " -> %s", s.Address)
		if s.Method == publicip.MethodSTUN {
			fmt.Fprintf(&b, " mapped port %d, local port %d", s.MappedPort, s.LocalPort)
		}
		fmt.Fprintf(&b, ", %dms", s.RTT.Milliseconds())
	} else {
		fmt.Fprintf(&b, ": %s", s.Err)
	}
	return b.String()
}

// natLine is the NAT verdict in words.
func natLine(n *publicip.NAT, res *publicip.Result) string {
	if !n.Known {
		return "unknown: no public address to compare"
	}
	if !n.BehindNAT {
		return "no NAT: the public address is on a local interface"
	}
	var b strings.Builder
	b.WriteString("behind NAT")
	if n.Local.IsValid() && n.Public.IsValid() {
		fmt.Fprintf(&b, ": %s -> %s", n.Local, n.Public)
	}
	switch {
	case n.MultiplePublicIPs:
		b.WriteString("; several public IPs seen by different servers")
	case n.Mapping == publicip.MappingEndpointIndependent:
		b.WriteString("; mapping endpoint-independent (same address and port seen by every STUN server)")
	case n.Mapping == publicip.MappingAddressDependent:
		b.WriteString("; mapping address-dependent (\"symmetric\": each server saw another port)")
	default:
		b.WriteString("; mapping unknown (fewer than 2 STUN answers)")
	}
	if n.PortPreserved != nil {
		if *n.PortPreserved {
			b.WriteString(", port preserved")
		} else {
			b.WriteString(", port not preserved")
		}
	}
	if n.CGNAT {
		b.WriteString("; carrier-grade NAT")
	}
	return b.String()
}

// writeName prints one name's block.
func writeName(tw *tabwriter.Writer, n NameResult, verbose bool) {
	src := n.Resolver
	if n.FromHosts {
		src += ", hosts file"
	}
	fmt.Fprintf(tw, "  %s\t(%s)\n", n.Query, src)
	if !n.OK() {
		fmt.Fprintf(tw, "    error\t%s\n", n.Err)
		return
	}
	if n.CNAME != "" {
		fmt.Fprintf(tw, "    CNAME\t%s\n", n.CNAME)
	}
	list := func(as []netip.Addr) string {
		if len(as) == 0 {
			return "-"
		}
		return strings.Join(strs(as), " ")
	}
	fmt.Fprintf(tw, "    A\t%s\n", list(n.A))
	fmt.Fprintf(tw, "    AAAA\t%s\n", list(n.AAAA))
	if n.FromHosts {
		fmt.Fprintf(tw, "    hosts\t%s\n", list(n.HostsAddr))
	}
	order := strs(n.DialOrder)
	if n.Port != 0 {
		for i, a := range n.DialOrder {
			order[i] = netip.AddrPortFrom(a, uint16(n.Port)).String()
		}
	}
	fmt.Fprintf(tw, "    dial\t%s\n", strings.Join(order, ", "))
	for _, note := range n.Notes {
		fmt.Fprintf(tw, "    note\t%s\n", note)
	}
	if verbose && len(n.Reverse) > 0 {
		keys := make([]netip.Addr, 0, len(n.Reverse))
		for a := range n.Reverse {
			keys = append(keys, a)
		}
		slices.SortFunc(keys, netip.Addr.Compare)
		for _, a := range keys {
			fmt.Fprintf(tw, "    PTR\t%s %s\n", a, strings.Join(n.Reverse[a], " "))
		}
	}
}

// virtualNote labels a virtual adapter once: "virtual device
// (/sys/devices/virtual)" says it already, "veth pair" needs the label.
func virtualNote(reason string) string {
	if strings.HasPrefix(reason, "virtual ") {
		return reason
	}
	return "virtual: " + reason
}
