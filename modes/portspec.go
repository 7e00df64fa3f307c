package modes

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// ParsePort reads a port number or service name for proto ("tcp" or "udp").
// With allowZero, 0 (any free port) is accepted.
func ParsePort(s, proto string, allowZero bool) (int, error) {
	want := "1-65535 or a service name"
	if allowZero {
		want = "0-65535 or a service name"
	}
	if s == "" {
		return 0, fmt.Errorf("invalid port %q (want %s)", s, want)
	}
	if n, err := strconv.Atoi(s); err == nil || isNumeric(s) {
		if err != nil || n < 0 || n > 65535 || (n == 0 && !allowZero) {
			return 0, fmt.Errorf("invalid port %q (want %s)", s, want)
		}
		return n, nil
	}
	if !isServiceName(s) {
		return 0, fmt.Errorf("invalid port %q (want %s)", s, want)
	}
	n, err := net.LookupPort(proto, s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q: unknown %s service (want %s)", s, proto, want)
	}
	return n, nil
}

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

// ParsePortSpec reads a PORTSPEC: a comma-separated list of ports, service
// names and ranges ("22", "20-25", "22,http,8000-8100"). The result is
// sorted and has no duplicates; every port is 1-65535.
func ParsePortSpec(spec, proto string) ([]uint16, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("invalid port list %q: empty (want e.g. 22, 20-25 or 22,80,8000-8100)", spec)
	}
	seen := make([]bool, 65536)
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		if isRange && isServiceName(part) && !allDigits(lo) {
			isRange = false // a service name with a dash, such as "sql-net"
		}
		if !isRange {
			p, err := ParsePort(part, proto, false)
			if err != nil {
				return nil, fmt.Errorf("invalid port list %q: %w", spec, err)
			}
			seen[p] = true
			continue
		}
		a, err1 := ParsePort(lo, proto, false)
		b, err2 := ParsePort(hi, proto, false)
		if err1 != nil || err2 != nil || a > b {
			return nil, fmt.Errorf("invalid port list %q: bad range %q (want LOW-HIGH within 1-65535)", spec, part)
		}
		for p := a; p <= b; p++ {
			seen[p] = true
		}
	}
	var out []uint16
	for p, ok := range seen {
		if ok {
			out = append(out, uint16(p))
		}
	}
	slices.Sort(out)
	return out, nil
}
