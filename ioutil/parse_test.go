package ioutil

import (
	"strconv"
	"testing"
	"time"
)

var sizeTests = []struct {
	in      string
	want    int64
	wantErr bool
}{
	{in: "0", want: 0},
	{in: "1024", want: 1024},
	{in: "64K", want: 64 << 10},
	{in: "64k", want: 64 << 10},
	{in: "64KiB", want: 64 << 10},
	{in: "64KB", want: 64 << 10},
	{in: "1M", want: 1 << 20},
	{in: "2G", want: 2 << 30},
	{in: "1T", want: 1 << 40},
	{in: "512B", want: 512},
	{in: " 8K ", want: 8 << 10},
	{in: "", wantErr: true},
	{in: "-1", wantErr: true},
	{in: "-1K", wantErr: true},
	{in: "1.5K", wantErr: true},
	{in: "K", wantErr: true},
	{in: "abc", wantErr: true},
	{in: "12Q", wantErr: true},
	{in: "9223372036854775807K", wantErr: true},
	{in: "99999999999999999999", wantErr: true},
	{in: "1KK", wantErr: true},
	{in: "iB", wantErr: true},
}

func TestParseSize(t *testing.T) {
	for _, tt := range sizeTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSize(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, tt := range sizeTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			if n != 0 {
				t.Fatalf("ParseSize(%q) = %d with error %v", s, n, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, n)
		}
		// A plain number must parse to itself.
		if m, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || m != n {
			t.Fatalf("ParseSize(%d) round trip = %d, %v", n, m, err)
		}
	})
}

var durationTests = []struct {
	in      string
	want    time.Duration
	wantErr bool
}{
	{in: "0", want: 0},
	{in: "5", want: 5 * time.Second},
	{in: "0.5", want: 500 * time.Millisecond},
	{in: "250ms", want: 250 * time.Millisecond},
	{in: "5s", want: 5 * time.Second},
	{in: "1m", want: time.Minute},
	{in: "1m30s", want: 90 * time.Second},
	{in: " 2 ", want: 2 * time.Second},
	{in: "", wantErr: true},
	{in: "-1", wantErr: true},
	{in: "-5s", wantErr: true},
	{in: "abc", wantErr: true},
	{in: "5x", wantErr: true},
	{in: "NaN", wantErr: true},
	{in: "Inf", wantErr: true},
	{in: "0x10", wantErr: true},
	{in: "1e300", wantErr: true},
}

func TestParseDuration(t *testing.T) {
	for _, tt := range durationTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, tt := range durationTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err == nil && d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, d)
		}
	})
}

func TestFormatSize(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0 B"},
		{12, "12 B"},
		{1023, "1023 B"},
		{1024, "1.00 KiB"},
		{1536, "1.50 KiB"},
		{1 << 30, "1.00 GiB"},
	}
	for _, tt := range tests {
		if got := FormatSize(tt.in); got != tt.want {
			t.Errorf("FormatSize(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
