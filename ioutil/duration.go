package ioutil

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration in Go syntax ("250ms", "5s", "1m30s") or a
// bare number of seconds ("5", "0.5"), the netcat habit. Negative durations
// are errors.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("invalid duration %q: empty (want e.g. 5, 250ms, 5s or 1m)", s)
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && !strings.ContainsAny(t, "xXpPiInN_") {
		if f < 0 || math.IsNaN(f) || f*float64(time.Second) > math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %q (want a non-negative number of seconds or e.g. 250ms, 5s, 1m)", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q (want a non-negative number of seconds or e.g. 250ms, 5s, 1m)", s)
	}
	return d, nil
}
