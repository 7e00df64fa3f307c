package modes_test

import (
	"strconv"
	"testing"

	"github.com/sockcat/sockcat/modes"
)

// FuzzParsePort: any accepted port is in range, and a number that parses
// prints back to an equal port.
func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"80", "0", "65535", "65536", "-1", "+22", "http", "", "2 2", "0x50", "080", "99999999999999999999"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, allowZero bool) {
		p, err := modes.ParsePort(s, "tcp", allowZero)
		if err != nil {
			return
		}
		if p < 0 || p > 65535 || (p == 0 && !allowZero) {
			t.Fatalf("ParsePort(%q, %t) = %d, out of range", s, allowZero, p)
		}
		if n, nerr := strconv.Atoi(s); nerr == nil && n != p {
			t.Fatalf("ParsePort(%q) = %d, want %d", s, p, n)
		}
	})
}
