package modes_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes"
)

// seq returns the ports lo..hi.
func seq(lo, hi int) []uint16 {
	var out []uint16
	for p := lo; p <= hi; p++ {
		out = append(out, uint16(p))
	}
	return out
}

var portSpecTests = []struct {
	in      string
	proto   string // "" = tcp
	want    []uint16
	wantErr bool
}{
	{in: "22", want: []uint16{22}},
	{in: "20-25", want: seq(20, 25)},
	{in: "22,80,8000-8003", want: []uint16{22, 80, 8000, 8001, 8002, 8003}},
	{in: "80,22,80", want: []uint16{22, 80}}, // sorted, deduplicated
	{in: "20-25,22-30", want: seq(20, 30)},   // overlapping ranges merge
	{in: "1-3,1-3,2", want: seq(1, 3)},
	{in: " 22 , 80 ", want: []uint16{22, 80}},
	{in: "1", want: []uint16{1}},
	{in: "65535", want: []uint16{65535}},
	{in: "65534-65535", want: seq(65534, 65535)},
	{in: "5-5", want: []uint16{5}},
	{in: "0022", want: []uint16{22}},
	{in: "http", want: []uint16{80}},
	{in: "ssh,http,22", want: []uint16{22, 80}},
	{in: "ftp-data", want: []uint16{20}},    // a service name with a dash
	{in: "ftp-ssh", want: []uint16{21, 22}}, // a range of two names
	{in: "ssh-80", want: seq(22, 80)},       // a name and a number
	{in: "domain", proto: "udp", want: []uint16{53}},
	{in: "1-65535", want: seq(1, 65535)},

	{in: "", wantErr: true},
	{in: " ", wantErr: true},
	{in: "0", wantErr: true},
	{in: "0-10", wantErr: true},
	{in: "65536", wantErr: true},
	{in: "1-70000", wantErr: true},
	{in: "99999999999999999999999", wantErr: true},
	{in: "25-20", wantErr: true}, // reversed
	{in: "-5", wantErr: true},
	{in: "5-", wantErr: true},
	{in: "-", wantErr: true},
	{in: "1-2-3", wantErr: true},
	{in: "22,", wantErr: true},
	{in: ",22", wantErr: true},
	{in: "22,,80", wantErr: true},
	{in: "+22", wantErr: true},
	{in: "22-+25", wantErr: true},
	{in: "2 2", wantErr: true},
	{in: "0x16", wantErr: true},
	{in: "٢٢", wantErr: true}, // Arabic-Indic digits
	{in: "nosuchservice", wantErr: true},
	{in: "nosuch-thing", wantErr: true},
	{in: "http-nosuch", wantErr: true},
	{in: "ssh-ftp", wantErr: true}, // 22-21: reversed
	{in: "22;80", wantErr: true},
	{in: "22 80", wantErr: true},
}

func TestParsePortSpec(t *testing.T) {
	for _, tt := range portSpecTests {
		proto := tt.proto
		if proto == "" {
			proto = "tcp"
		}
		t.Run(proto+"/"+tt.in, func(t *testing.T) {
			got, err := modes.ParsePortSpec(tt.in, proto)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePortSpec(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if err != nil {
				// The message quotes the bad value and says what is accepted.
				if msg := err.Error(); !strings.Contains(msg, strconv.Quote(tt.in)) || !strings.Contains(msg, "want ") {
					t.Errorf("ParsePortSpec(%q) error %q: want the value quoted and what is accepted", tt.in, msg)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParsePortSpec(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParsePort(t *testing.T) {
	tests := []struct {
		in        string
		allowZero bool
		want      int
		wantErr   bool
	}{
		{in: "80", want: 80},
		{in: "65535", want: 65535},
		{in: "http", want: 80},
		{in: "0", allowZero: true, want: 0},
		{in: "0", wantErr: true},
		{in: "65536", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "+22", wantErr: true},
		{in: "", wantErr: true},
		{in: "2 2", wantErr: true},
		{in: "nosuchservice", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := modes.ParsePort(tt.in, "tcp", tt.allowZero)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePort(%q, %t) error = %v, wantErr %t", tt.in, tt.allowZero, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("ParsePort(%q, %t) = %d, want %d", tt.in, tt.allowZero, got, tt.want)
			}
		})
	}
}

// TestParsePortSpecBounded checks that the work does not grow with the
// size of the ranges: 200000 copies of the full range would take minutes
// if each were expanded.
func TestParsePortSpecBounded(t *testing.T) {
	spec := strings.TrimSuffix(strings.Repeat("1-65535,", 200000), ",")
	start := time.Now()
	got, err := modes.ParsePortSpec(spec, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 65535 || got[0] != 1 || got[len(got)-1] != 65535 {
		t.Errorf("ParsePortSpec(200000 × 1-65535) = %d ports [%d…%d], want 1-65535", len(got), got[0], got[len(got)-1])
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("ParsePortSpec(200000 × 1-65535) took %v", d)
	}
}

func FuzzParsePortSpec(f *testing.F) {
	for _, tt := range portSpecTests {
		if len(tt.in) < 100 {
			f.Add(tt.in)
		}
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := modes.ParsePortSpec(spec, "tcp")
		if err != nil {
			if got != nil {
				t.Fatalf("ParsePortSpec(%q) = %v with error %v", spec, got, err)
			}
			return
		}
		if len(got) == 0 || len(got) > 65535 {
			t.Fatalf("ParsePortSpec(%q): %d ports", spec, len(got))
		}
		for i, p := range got {
			if p == 0 {
				t.Fatalf("ParsePortSpec(%q) holds port 0", spec)
			}
			if i > 0 && got[i-1] >= p {
				t.Fatalf("ParsePortSpec(%q) not sorted and unique at %d: %d, %d", spec, i, got[i-1], p)
			}
		}
		// Every plain number of the spec is in the result.
		for _, item := range strings.Split(spec, ",") {
			item = strings.TrimSpace(item)
			if n, err := strconv.Atoi(item); err == nil && !strings.ContainsAny(item, "+-") {
				if _, found := slices.BinarySearch(got, uint16(n)); !found {
					t.Fatalf("ParsePortSpec(%q) = %v lacks %d", spec, got, n)
				}
			}
		}
		// The result, written back as a list, reads the same.
		var b strings.Builder
		for i, p := range got {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(p)))
		}
		again, err := modes.ParsePortSpec(b.String(), "tcp")
		if err != nil {
			t.Fatalf("ParsePortSpec(%q) = error %v on the output of %q", b.String(), err, spec)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("reparse of %q mismatch (-first +again):\n%s", spec, diff)
		}
	})
}
