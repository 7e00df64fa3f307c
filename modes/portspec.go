package modes

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// ParsePort reads a port number or service name for proto ("tcp" or "udp").
// With allowZero, 0 (any free port) is accepted. A number is plain decimal
// digits: no sign, no spaces.
func ParsePort(s, proto string, allowZero bool) (int, error) {
	want := "1-65535 or a service name"
	if allowZero {
		want = "0-65535 or a service name"
	}
	if s == "" {
		return 0, fmt.Errorf("invalid port %q (want %s)", s, want)
	}
	if isNumeric(s) {
		n, err := strconv.Atoi(s)
		if err != nil || !allDigits(s) || n < 0 || n > 65535 || (n == 0 && !allowZero) {
			return 0, fmt.Errorf("invalid port %q (want %s)", s, want)
		}
		return n, nil
	}
	if !isServiceName(s) {
		return 0, fmt.Errorf("invalid port %q (want %s)", s, want)
	}
	n, err := net.LookupPort(proto, s)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q: unknown %s service (want %s)", s, proto, want)
	}
	return n, nil
}

// isNumeric reports whether s looks like a number (digits, perhaps signed),
// so that "-1" and "+22" are rejected as numbers rather than looked up as
// service names.
func isNumeric(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	return s != "" && allDigits(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isServiceName accepts what /etc/services names look like (letters,
// digits, '-', '_', '.', '/', '+'), starting with a letter.
func isServiceName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.+/", c) >= 0) {
			return false
		}
	}
	return true
}

// portSpecHint is the tail of every PORTSPEC error: what is accepted.
const portSpecHint = "want ports 1-65535, service names and LOW-HIGH ranges separated by commas, e.g. 22,80,8000-8100"

// ParsePortSpec reads a PORTSPEC: a comma-separated list of ports, service
// names and ranges ("22", "20-25", "22,http,8000-8100"), for proto ("tcp" or
// "udp"). Spaces around an item are ignored. A name containing a dash is a
// service name when the services database knows it ("ftp-data"), otherwise a
// range of two names ("ftp-ssh"). The result is sorted and has no
// duplicates; every port is 1-65535. The work done is bounded by the length
// of spec, whatever ranges it holds.
func ParsePortSpec(spec, proto string) ([]uint16, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("invalid port list %q: %s (%s)", spec, fmt.Sprintf(format, args...), portSpecHint)
	}
	if strings.TrimSpace(spec) == "" {
		return nil, bad("empty")
	}
	type span struct{ lo, hi int }
	var spans []span
	memo := make(map[string]portOrErr) // a service lookup costs tens of microseconds
	item := func(s string) (int, error) {
		if r, ok := memo[s]; ok {
			return r.port, r.err
		}
		p, err := portItem(s, proto)
		memo[s] = portOrErr{p, err}
		return p, err
	}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, bad("empty item")
		}
		p, err := item(part)
		if err == nil {
			spans = append(spans, span{p, p})
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
		if !isRange || lo == "" || hi == "" {
			return nil, bad("%v", err)
		}
		a, err1 := item(lo)
		b, err2 := item(hi)
		if err1 != nil || err2 != nil || a > b {
			return nil, bad("bad range %q", part)
		}
		spans = append(spans, span{a, b})
	}
	// Merge the spans before expanding them, so that "1-65535" repeated
	// many times costs no more than once.
	slices.SortFunc(spans, func(x, y span) int { return cmp.Compare(x.lo, y.lo) })
	var out []uint16
	next := 1 // the lowest port not yet in out
	for _, s := range spans {
		for p := max(s.lo, next); p <= s.hi; p++ {
			out = append(out, uint16(p))
		}
		next = max(next, s.hi+1)
	}
	return out, nil
}

type portOrErr struct {
	port int
	err  error
}

// portItem reads one port of a PORTSPEC item: digits or a service name.
func portItem(s, proto string) (int, error) {
	if s != "" && !allDigits(s) && !isServiceName(s) {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	p, err := ParsePort(s, proto, false)
	if err != nil {
		// Drop ParsePort's own "(want …)": the PORTSPEC hint follows.
		if i := strings.LastIndex(err.Error(), " (want "); i > 0 {
			return 0, fmt.Errorf("%s", err.Error()[:i])
		}
		return 0, err
	}
	return p, nil
}
