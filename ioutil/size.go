package ioutil

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads a byte count such as "1024", "64K", "1M" or "2G". Suffixes
// are powers of 1024 and case-insensitive; an optional trailing "B" or "iB"
// is accepted ("64KiB", "1MB"). Negative values and overflow are errors.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("invalid size %q: empty (want a number like 1024, 64K or 1M)", s)
	}
	u := strings.ToUpper(t)
	switch {
	case strings.HasSuffix(u, "IB") && len(u) > 2 && strings.ContainsRune("KMGT", rune(u[len(u)-3])):
		u = u[:len(u)-2]
	case strings.HasSuffix(u, "B"):
		u = u[:len(u)-1]
	}
	mult := int64(1)
	if n := len(u); n > 0 {
		switch u[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			u = u[:n-1]
		}
	}
	if u == "" || !allDigits(u) {
		return 0, fmt.Errorf("invalid size %q (want a non-negative number with an optional K, M, G or T suffix)", s)
	}
	v, err := strconv.ParseInt(u, 10, 64)
	if err != nil || v > math.MaxInt64/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return v * mult, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// FormatSize prints n bytes the way the -v summary does: "12 B", "1.00 KiB",
// "783.25 MiB".
func FormatSize(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	f := float64(n)
	i := -1
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.2f %s", f, units[i])
}
