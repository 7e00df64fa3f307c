package ioutil_test

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/sockcat/sockcat/ioutil"
)

// TestMeter: the final line shows the bytes each way and the average
// receive rate; with a known size a full bar, without it no percentage.
func TestMeter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		total int64
		want  *regexp.Regexp
		not   string
	}{
		{"known size", 2048, regexp.MustCompile(` 100% \|█+\| \(2\.0/2\.0 KiB, .*\) ↑ 2\.00 KiB ↓ 3\.00 KiB \([0-9.]+ [KMG]iB/s\) *\n\z`), ""},
		{"unknown size", -1, regexp.MustCompile(`\(2\.0 KiB, .*/s\) \[[0-9]+s\] ↑ 2\.00 KiB ↓ 3\.00 KiB \([0-9.]+ [KMG]iB/s\) *\n\z`), "%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var sent, recv ioutil.Counter
			m := ioutil.StartMeter(&out, tc.total, &sent, &recv, &sent)
			sent.Observe(make([]byte, 2048))
			recv.Observe(make([]byte, 3072))
			m.Stop()
			m.Stop() // a second Stop does nothing
			if !tc.want.MatchString(out.String()) {
				t.Errorf("meter output %q does not match %s", out.String(), tc.want)
			}
			if tc.not != "" && bytes.Contains(out.Bytes(), []byte(tc.not)) {
				t.Errorf("meter output %q has %q", out.String(), tc.not)
			}
		})
	}
}
