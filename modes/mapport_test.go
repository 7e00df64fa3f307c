package modes

import (
	"strings"
	"testing"
	"time"
)

func TestCheckMapPort(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"listen", Config{Listen: true, MapPort: MapPortOptions{Enabled: true}}, ""},
		{"udp listen with lease and file", Config{Listen: true, UDP: true, MapPort: MapPortOptions{Enabled: true, Lease: time.Minute, File: "f"}}, ""},
		{"connect", Config{MapPort: MapPortOptions{Enabled: true}}, "--map-port needs -l"},
		{"unix", Config{Listen: true, Unix: true, MapPort: MapPortOptions{Enabled: true}}, "cannot be combined with -U"},
		{"ipv6 only", Config{Listen: true, Net: NetOptions{Family: Family6}, MapPort: MapPortOptions{Enabled: true}}, "cannot be combined with -6"},
		{"lease under a second", Config{Listen: true, MapPort: MapPortOptions{Enabled: true, Lease: 500 * time.Millisecond}}, "--map-lease"},
		{"lease over 7 days", Config{Listen: true, MapPort: MapPortOptions{Enabled: true, Lease: 8 * 24 * time.Hour}}, "--map-lease"},
		{"file without map-port", Config{Listen: true, MapPort: MapPortOptions{File: "f"}}, "need --map-port"},
		{"lease without map-port", Config{Listen: true, MapPort: MapPortOptions{Lease: time.Hour}}, "need --map-port"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if c.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one with %q", err, c.want)
			}
		})
	}
}

func TestFormatLease(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 90 * time.Minute: "1h30m", 30 * time.Minute: "30m", 2 * time.Second: "2s",
		90 * time.Second: "1m30s", time.Hour + time.Second: "1h0m1s", 168 * time.Hour: "168h",
	} {
		if got := formatLease(d); got != want {
			t.Errorf("formatLease(%s) = %q, want %q", d, got, want)
		}
	}
}
