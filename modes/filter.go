package modes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
)

// filter decides which clients a listener serves (--allow/--deny, SPEC §5).
// A client matching any deny rule is refused, whatever the allow rules say
// (deny wins). Otherwise, when there are allow rules, the client must match
// one of them; with no allow rules everyone not denied is served.
//
// Host-name rules are resolved once, when the listener starts, to every
// address the name has (both families); a client matches when its address is
// one of them.
type filter struct {
	allow, deny []netip.Prefix
	hasAllow    bool // allow rules were given (possibly resolving to nothing)
}

// rule is one --allow/--deny entry before host names are resolved.
type rule struct {
	prefix netip.Prefix // a CIDR, or an address as a full-length prefix; invalid for a host rule
	host   string       // a host name, resolved by newFilter
}

func (r rule) String() string {
	if r.host != "" {
		return r.host
	}
	if r.prefix.IsSingleIP() {
		return r.prefix.Addr().String()
	}
	return r.prefix.String()
}

// errBadRule is wrapped by every rule that cannot be parsed.
var errBadRule = errors.New("want a CIDR, an address or a host name")

// parseRule reads one rule: a CIDR ("10.0.0.0/8", "fd00::/8"), an address
// ("192.0.2.7", "::1") or a host name ("localhost"). IPv4-mapped IPv6 forms
// are read as the IPv4 address or prefix they map, since the dual-stack
// listener reports IPv4 clients unmapped. Host bits in a CIDR are ignored
// ("10.1.2.3/8" is 10.0.0.0/8). Zones ("fe80::1%eth0") are refused: a
// client's zone is not part of its identity here.
func parseRule(s string) (rule, error) {
	s = strings.TrimSpace(s)
	bad := func() (rule, error) { return rule{}, fmt.Errorf("invalid rule %q: %w", s, errBadRule) }
	if s == "" {
		return bad()
	}
	if strings.Contains(s, "%") {
		return rule{}, fmt.Errorf("invalid rule %q: zones are not supported in rules", s)
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return bad()
		}
		return rule{prefix: unmapPrefix(p.Masked())}, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		return rule{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	if !validHostName(s) {
		return bad()
	}
	return rule{host: strings.ToLower(strings.TrimSuffix(s, "."))}, nil
}

// unmapPrefix turns ::ffff:a.b.c.d/N with N >= 96 into a.b.c.d/(N-96).
func unmapPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if !a.Is4In6() || p.Bits() < 96 {
		return p
	}
	return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
}

// validHostName reports whether s looks like a DNS name: labels of letters,
// digits, '-' and '_', 1–63 bytes each, 253 bytes in all, an optional final
// dot, and a last label that is not all digits (RFC 3696 §2), so a mistyped
// address such as 10.0.0.256 is refused rather than looked up. It does not
// tell whether the name exists.
func validHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if strings.Trim(last, "0123456789") == "" {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return false
			}
		}
	}
	return true
}

// parseRules reads a rules file: one rule per line; blank lines and
// everything from a '#' to the end of a line are ignored. Errors name the
// file and line.
func parseRules(r io.Reader, name string) ([]rule, error) {
	var rules []rule
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		r, err := parseRule(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		rules = append(rules, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return rules, nil
}

// filterRules gathers and parses the rules of s, reading the rule files.
func filterRules(s ServeOptions) (allow, deny []rule, err error) {
	read := func(flag string, list []string, file string) ([]rule, error) {
		var out []rule
		for _, v := range list {
			r, err := parseRule(v)
			if err != nil {
				return nil, fmt.Errorf("--%s: %w", flag, err)
			}
			out = append(out, r)
		}
		if file == "" {
			return out, nil
		}
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("--%s-file: %w", flag, err)
		}
		defer f.Close()
		rs, err := parseRules(f, file)
		if err != nil {
			return nil, fmt.Errorf("--%s-file: %w", flag, err)
		}
		return append(out, rs...), nil
	}
	if allow, err = read("allow", s.Allow, s.AllowFile); err != nil {
		return nil, nil, err
	}
	if deny, err = read("deny", s.Deny, s.DenyFile); err != nil {
		return nil, nil, err
	}
	return allow, deny, nil
}

// checkFilter validates the --allow/--deny rules and reads the rule files;
// a missing file or a malformed rule is a usage error.
func checkFilter(s ServeOptions) error {
	_, _, err := filterRules(s)
	return err
}

// newFilter reads the rules of cfg and resolves their host names; a nil
// filter allows everyone. A host name that does not resolve is an error:
// silently dropping a deny rule would let its clients in.
func newFilter(ctx context.Context, cfg *Config) (*filter, error) {
	allow, deny, err := filterRules(cfg.Serve)
	if err != nil {
		return nil, err
	}
	// An --allow-file with no rules allows no one: it is still an allow list.
	hasAllow := len(cfg.Serve.Allow) > 0 || cfg.Serve.AllowFile != ""
	if !hasAllow && len(deny) == 0 {
		return nil, nil
	}
	// Rules name clients of either family, whatever -4/-6 says.
	rcfg := *cfg
	rcfg.Net.Family = FamilyAny
	resolve := func(flag string, rs []rule) ([]netip.Prefix, error) {
		var out []netip.Prefix
		for _, r := range rs {
			if r.host == "" {
				out = append(out, r.prefix)
				continue
			}
			addrs, err := lookup(ctx, &rcfg, r.host)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("--%s %s: %w", flag, r.host, reason(err))
			}
			for _, a := range addrs {
				a = a.Unmap().WithZone("")
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		return out, nil
	}
	f := &filter{hasAllow: hasAllow}
	if f.allow, err = resolve("allow", allow); err != nil {
		return nil, err
	}
	if f.deny, err = resolve("deny", deny); err != nil {
		return nil, err
	}
	return f, nil
}

// allowed reports whether a client at a may be served.
func (f *filter) allowed(a net.Addr) bool {
	if f == nil {
		return true
	}
	ip, ok := addrIP(a)
	if !ok {
		// Not an IP client (a Unix socket): no rule can name it. Validate
		// refuses rules with -U, so this is only reached by mistake.
		return !f.hasAllow
	}
	return f.allowedIP(ip)
}

func (f *filter) allowedIP(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range f.deny {
		if p.Contains(ip) {
			return false
		}
	}
	if !f.hasAllow {
		return true
	}
	for _, p := range f.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// addrIP extracts the IP of a TCP or UDP address.
func addrIP(a net.Addr) (netip.Addr, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		if a != nil {
			return a.AddrPort().Addr(), true
		}
	case *net.UDPAddr:
		if a != nil {
			return a.AddrPort().Addr(), true
		}
	}
	return netip.Addr{}, false
}
