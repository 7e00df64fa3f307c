package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// flood returns the datagrams numbered seqs, of size bytes, back to back.
func flood(size int, seqs ...uint64) []byte {
	var out []byte
	for _, s := range seqs {
		b := make([]byte, size)
		fill(b, s)
		out = append(out, b...)
	}
	return out
}

func TestTally(t *testing.T) {
	const size = 32
	whole := flood(size, 0, 1, 2, 3)
	cut := append(flood(size, 0, 1)[:size+10], flood(size, 2, 3)...) // datagram 1 cut short
	corrupt := flood(size, 0, 1, 2)
	corrupt[size+20] ^= 0xff
	tests := []struct {
		name string
		in   []byte
		n    uint64
		want counts
	}{
		{"empty", nil, 10, counts{}},
		{"whole", whole, 10, counts{records: 4, distinct: 4}},
		{"duplicate", flood(size, 5, 5, 6), 10, counts{records: 3, distinct: 2}},
		{"cut then whole", cut, 10, counts{records: 3, distinct: 3, bad: 1, skipped: 10}},
		{"corrupt", corrupt, 10, counts{records: 2, distinct: 2, bad: 1, skipped: size}},
		{"trailing bytes", append(flood(size, 0), 1, 2, 3), 10, counts{records: 1, distinct: 1, bad: 1, skipped: 3}},
		{"number out of range", flood(size, 0, 99), 10, counts{records: 1, distinct: 1, bad: 1, skipped: size}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tally(bytes.NewReader(tt.in), size, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(counts{})); diff != "" {
				t.Errorf("tally (-want +got):\n%s", diff)
			}
		})
	}
}
