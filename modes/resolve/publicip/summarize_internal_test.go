package publicip

import (
	"net/netip"
	"testing"
)

// TestSummarizeWrongFamily: a STUN server that maps an IPv4 request to an
// IPv6 address is not an answer: the source gets an error saying so, so
// the report never shows it with no error while the status is not-found.
func TestSummarizeWrongFamily(t *testing.T) {
	for _, tt := range []struct {
		v6      bool
		addr    string
		wantErr string
	}{
		{false, "2001:db8::7", "answered 2001:db8::7, an IPv6 address, to an IPv4 request"},
		{true, "203.0.113.7", "answered 203.0.113.7, an IPv4 address, to an IPv6 request"},
		{false, "0.0.0.0", "answered the unspecified address 0.0.0.0"},
	} {
		src := []Source{{Method: MethodSTUN, Server: "192.0.2.1:3478", Address: netip.MustParseAddr(tt.addr)}}
		r := summarize(src, tt.v6, 0)
		if r.Status != StatusNotFound || r.Address.IsValid() {
			t.Errorf("%s for v6=%v: status %s address %v, want not-found and none", tt.addr, tt.v6, r.Status, r.Address)
		}
		if got := r.Sources[0].Err; got != tt.wantErr {
			t.Errorf("%s for v6=%v: source error %q, want %q", tt.addr, tt.v6, got, tt.wantErr)
		}
		if r.Sources[0].OK() {
			t.Errorf("%s: still counted as an answer", tt.addr)
		}
	}
}
