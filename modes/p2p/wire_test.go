package p2p

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var cmpAddr = cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })

func TestHelloRoundTrip(t *testing.T) {
	cases := []hello{
		{},
		{Relay: true, Fingerprint: [32]byte{1, 2, 3}},
		{Varies: true, Mapped: true},
		{Candidates: []Candidate{
			{Kind: CandHost, Addr: netip.MustParseAddrPort("10.0.1.2:4000")},
			{Kind: CandMapped, Addr: netip.MustParseAddrPort("[2001:db8::1]:4000")},
			{Kind: CandPortMap, Addr: netip.MustParseAddrPort("198.51.100.7:1")},
			{Kind: CandRelay, Addr: netip.MustParseAddrPort("203.0.113.9:65535")},
		}},
	}
	for _, h := range cases {
		got, err := decodeHello(encodeHello(h))
		if err != nil {
			t.Fatalf("decode(encode(%+v)): %v", h, err)
		}
		if diff := cmp.Diff(h, got, cmpAddr); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestDecodeHelloErrors(t *testing.T) {
	good := encodeHello(hello{Candidates: []Candidate{{Kind: CandHost, Addr: netip.MustParseAddrPort("10.0.0.1:5")}}})
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not a hello"},
		{"relay type", []byte{msgRelay, 1, 0}, "not a hello"},
		{"version", mut(func(b []byte) []byte { b[1] = 9; return b }), "version 9"},
		{"short fingerprint", good[:20], "truncated"},
		{"too many", mut(func(b []byte) []byte { b[35] = maxCandidates + 1; return b }), "candidates"},
		{"kind", mut(func(b []byte) []byte { b[36] = 9; return b }), "kind 9"},
		{"addr len", mut(func(b []byte) []byte { b[37] = 5; return b }), "address length 5"},
		{"port 0", mut(func(b []byte) []byte { b[42], b[43] = 0, 0; return b }), "port 0"},
		{"truncated", good[:len(good)-1], "truncated"},
		{"trailing", append(append([]byte(nil), good...), 0), "trailing"},
	}
	for _, c := range cases {
		_, err := decodeHello(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

func TestRelayMsgRoundTrip(t *testing.T) {
	for _, r := range []relayMsg{{Addr: netip.MustParseAddrPort("203.0.113.1:50000")}, {Err: "allocate: 401"}} {
		got, err := decodeRelay(encodeRelay(r))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, got, cmpAddr); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	for _, b := range [][]byte{nil, {msgRelay}, {msgRelay, 2}, {msgRelay, 1, 0}, {msgRelay, 1, 5, 'a'}, {msgHello, 0}} {
		if _, err := decodeRelay(b); err == nil {
			t.Errorf("decodeRelay(%v) succeeded", b)
		}
	}
}

func TestProbe(t *testing.T) {
	key := []byte("k")
	p := probe{Kind: probeReq, Role: RoleCreator, TxID: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}}
	b := encodeProbe(key, p)
	if b[0]&0xc0 != 0 {
		t.Errorf("first byte %#x: QUIC would take it", b[0])
	}
	got, err := parseProbe(key, b)
	if err != nil || got != p {
		t.Fatalf("parse = %+v, %v", got, err)
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 1
		if _, err := parseProbe(key, c); err == nil {
			t.Errorf("flipping a bit of byte %d still parses", i)
		}
	}
	if _, err := parseProbe([]byte("other"), b); err == nil {
		t.Error("parses with another key")
	}
}

func TestParseRelayURL(t *testing.T) {
	cases := []struct {
		in   string
		want RelayURL
		err  bool
	}{
		{"turn://u:p@relay.example:3478", RelayURL{"u", "p", "relay.example:3478"}, false},
		{"turn://u:p@203.0.113.1", RelayURL{"u", "p", "203.0.113.1:3478"}, false},
		{"turn://u:p@[2001:db8::1]:5349", RelayURL{"u", "p", "[2001:db8::1]:5349"}, false},
		{"turn://u@host", RelayURL{}, true},
		{"turn://host:3478", RelayURL{}, true},
		{"turns://u:p@host", RelayURL{}, true},
		{"turn://u:p@host:0", RelayURL{}, true},
		{"turn://u:p@host:99999", RelayURL{}, true},
		{"turn://u:p@host/x", RelayURL{}, true},
		{"host:3478", RelayURL{}, true},
	}
	for _, c := range cases {
		got, err := ParseRelayURL(c.in)
		if (err != nil) != c.err {
			t.Errorf("%s: err %v, want error %v", c.in, err, c.err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.in, diff)
		}
	}
}

func FuzzDecodeHello(f *testing.F) {
	f.Add(encodeHello(hello{Relay: true, Candidates: []Candidate{{Kind: CandHost, Addr: netip.MustParseAddrPort("10.0.0.1:5")}}}))
	f.Add([]byte{msgHello, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHello(b)
		if err != nil {
			return
		}
		again, err := decodeHello(encodeHello(h))
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", h, err)
		}
		if diff := cmp.Diff(h, again, cmpAddr); diff != "" {
			t.Fatalf("not stable (-first +second):\n%s", diff)
		}
	})
}

func FuzzDecodeRelay(f *testing.F) {
	f.Add(encodeRelay(relayMsg{Addr: netip.MustParseAddrPort("203.0.113.1:5")}))
	f.Add(encodeRelay(relayMsg{Err: "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRelay(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeRelay(r), b) {
			t.Fatalf("%v decodes to %+v which encodes differently", b, r)
		}
	})
}

func FuzzParseProbe(f *testing.F) {
	key := []byte("fuzz")
	f.Add(encodeProbe(key, probe{Kind: probeResp, Role: RoleJoiner}))
	f.Add(make([]byte, probeSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseProbe(key, b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeProbe(key, p), b) {
			t.Fatalf("accepted %x which is not the encoding of %+v", b, p)
		}
	})
}

func TestWhyNoPath(t *testing.T) {
	cases := []struct {
		local, peer hello
		want        string
	}{
		{hello{Varies: true, Mapped: true}, hello{Varies: true, Mapped: true}, "both NATs map ports per destination"},
		{hello{Varies: true, Mapped: true}, hello{Mapped: true}, "this side's NAT maps ports per destination"},
		{hello{Mapped: true}, hello{Varies: true, Mapped: true}, "the peer's NAT maps ports per destination"},
		{hello{}, hello{}, "no STUN server answered either side"},
		{hello{}, hello{Mapped: true}, "no STUN server answered this side"},
		{hello{Mapped: true}, hello{}, "no STUN server answered the peer"},
		{hello{Mapped: true}, hello{Mapped: true}, "probably maps ports per destination"},
	}
	for _, c := range cases {
		if got := whyNoPath(c.local, c.peer); !strings.HasPrefix(got, c.want) && !strings.Contains(got, c.want) {
			t.Errorf("whyNoPath(%+v, %+v) = %q, want %q", c.local, c.peer, got, c.want)
		}
	}
}

func TestMappingVaries(t *testing.T) {
	m := func(s string) Candidate { return Candidate{Kind: CandMapped, Addr: netip.MustParseAddrPort(s)} }
	h := func(s string) Candidate { return Candidate{Kind: CandHost, Addr: netip.MustParseAddrPort(s)} }
	cases := []struct {
		in   []Candidate
		want bool
	}{
		{nil, false},
		{[]Candidate{m("203.0.113.10:5000")}, false},
		{[]Candidate{m("203.0.113.10:5000"), h("10.0.0.2:5000")}, false},
		{[]Candidate{m("203.0.113.10:5000"), m("203.0.113.10:6000")}, true},
		{[]Candidate{m("203.0.113.10:5000"), m("203.0.113.11:5000")}, true},
		{[]Candidate{m("203.0.113.10:5000"), m("[2001:db8::1]:5000")}, false},
	}
	for _, c := range cases {
		if got := mappingVaries(c.in); got != c.want {
			t.Errorf("mappingVaries(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}
