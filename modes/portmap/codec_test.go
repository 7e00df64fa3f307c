package portmap

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

var nonce = [12]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

// pcpCases are byte-exact encodings laid out as in RFC 6887 §7 and §11.
var pcpCases = []struct {
	name string
	msg  PCPMessage
	wire string
}{
	{"map request", PCPMessage{Opcode: PCPOpMap, Lifetime: 3600, ClientIP: netip.MustParseAddr("192.168.77.2"),
		Map: &PCPMap{Nonce: nonce, Protocol: ProtoTCP, InternalPort: 7000, ExternalPort: 7000, ExternalIP: netip.MustParseAddr("0.0.0.0")}},
		`02 01 0000 00000e10 00000000000000000000ffffc0a84d02
		 0102030405060708090a0b0c 06 000000 1b58 1b58 00000000000000000000ffff00000000`},
	{"map response", PCPMessage{Response: true, Opcode: PCPOpMap, Lifetime: 120, Epoch: 77,
		Map: &PCPMap{Nonce: nonce, Protocol: ProtoUDP, InternalPort: 7000, ExternalPort: 7001, ExternalIP: netip.MustParseAddr("11.22.33.1")}},
		`02 81 00 00 00000078 0000004d 000000000000000000000000
		 0102030405060708090a0b0c 11 000000 1b58 1b59 00000000000000000000ffff0b162101`},
	{"map refused without payload", PCPMessage{Response: true, Opcode: PCPOpMap, Result: PCPNotAuthorized, Epoch: 5},
		`02 81 00 02 00000000 00000005 000000000000000000000000`},
	{"announce request", PCPMessage{Opcode: PCPOpAnnounce, ClientIP: netip.MustParseAddr("2001:db8::1")},
		`02 00 0000 00000000 20010db8000000000000000000000001`},
	{"announce response with an option", PCPMessage{Response: true, Opcode: PCPOpAnnounce, Epoch: 9,
		Options: []PCPOption{{Code: 1, Data: []byte{0xaa, 0xbb, 0xcc}}}},
		`02 80 00 00 00000000 00000009 000000000000000000000000 01 00 0003 aabbcc00`},
}

func TestPCPCodec(t *testing.T) {
	for _, c := range pcpCases {
		t.Run(c.name, func(t *testing.T) {
			want := unhex(c.wire)
			got, err := c.msg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal:\n got %x\nwant %x", got, want)
			}
			m, err := ParsePCP(want)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&c.msg, m, addrCmp); d != "" {
				t.Errorf("ParsePCP (-want +got):\n%s", d)
			}
		})
	}
}

func TestPCPParseErrors(t *testing.T) {
	full := unhex(pcpCases[0].wire)
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"header only of a MAP request", full[:24], "MAP payload"},
		{"not a multiple of 4", append(append([]byte{}, full...), 0, 0), "bad message length"},
		{"too long", make([]byte, 1104), "bad message length"},
		{"NAT-PMP version", append([]byte{0}, full[1:]...), "version 0"},
		{"option past the end", append(append([]byte{}, full...), 1, 0, 0, 9), "past the end"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParsePCP(c.b)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParsePCP: %v, want an error with %q", err, c.want)
			}
		})
	}
	if !IsNATPMPReply(unhex("00 80 0001 00000000")) || IsNATPMPReply(full) {
		t.Error("IsNATPMPReply does not tell NAT-PMP answers from PCP")
	}
	if got := PCPResult(2).String() + "," + PCPResult(99).String(); got != "NOT_AUTHORIZED,result 99" {
		t.Errorf("result names: %s", got)
	}
}

// natpmpCases follow RFC 6886 §3.2 and §3.3.
var natpmpCases = []struct {
	name string
	msg  NATPMPMessage
	wire string
}{
	{"external address request", NATPMPMessage{Opcode: NATPMPOpExternal}, `00 00`},
	{"external address response", NATPMPMessage{Response: true, Opcode: NATPMPOpExternal, Epoch: 300, ExternalIP: netip.MustParseAddr("11.22.33.1")},
		`00 80 0000 0000012c 0b162101`},
	{"tcp map request", NATPMPMessage{Opcode: NATPMPOpMapTCP, InternalPort: 7000, ExternalPort: 7000, Lifetime: 7200},
		`00 02 0000 1b58 1b58 00001c20`},
	{"udp map response", NATPMPMessage{Response: true, Opcode: NATPMPOpMapUDP, Epoch: 3, InternalPort: 7000, ExternalPort: 7002, Lifetime: 3600},
		`00 81 0000 00000003 1b58 1b5a 00000e10`},
	{"refused map response", NATPMPMessage{Response: true, Opcode: NATPMPOpMapTCP, Result: 2, Epoch: 3, InternalPort: 7000},
		`00 82 0002 00000003 1b58 0000 00000000`},
}

func TestNATPMPCodec(t *testing.T) {
	for _, c := range natpmpCases {
		t.Run(c.name, func(t *testing.T) {
			want := unhex(c.wire)
			got, err := c.msg.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal:\n got %x\nwant %x", got, want)
			}
			m, err := ParseNATPMP(want)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&c.msg, m, addrCmp); d != "" {
				t.Errorf("ParseNATPMP (-want +got):\n%s", d)
			}
		})
	}
	// The short error form: version, opcode, result, epoch.
	m, err := ParseNATPMP(unhex("00 80 0003 00000007"))
	if err != nil || m.Result != 3 || m.Epoch != 7 {
		t.Errorf("short error reply: %+v, %v", m, err)
	}
	for _, bad := range []string{"", "01 00", "00 03", "00 02 0000", "00 80 0000 00000000 0b16"} {
		if _, err := ParseNATPMP(unhex(bad)); err == nil {
			t.Errorf("ParseNATPMP(%s) accepted", bad)
		}
	}
	if NATPMPResult(2).String() != "not authorized/refused" {
		t.Errorf("result 2 is %q", NATPMPResult(2))
	}
}

// FuzzPCP: whatever ParsePCP accepts marshals back to what parses the same.
func FuzzPCP(f *testing.F) {
	for _, c := range pcpCases {
		f.Add(unhex(c.wire))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParsePCP(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed %x but cannot marshal it: %v", b, err)
		}
		m2, err := ParsePCP(out)
		if err != nil {
			t.Fatalf("re-parse of %x: %v", out, err)
		}
		if d := cmp.Diff(m, m2, addrCmp); d != "" {
			t.Fatalf("round trip of %x (-first +second):\n%s", b, d)
		}
	})
}

// FuzzNATPMP: as FuzzPCP for NAT-PMP.
func FuzzNATPMP(f *testing.F) {
	for _, c := range natpmpCases {
		f.Add(unhex(c.wire))
	}
	f.Add(unhex("00 80 0003 00000007"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseNATPMP(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed %x but cannot marshal it: %v", b, err)
		}
		m2, err := ParseNATPMP(out)
		if err != nil {
			t.Fatalf("re-parse of %x: %v", out, err)
		}
		if d := cmp.Diff(m, m2, addrCmp); d != "" {
			t.Fatalf("round trip of %x (-first +second):\n%s", b, d)
		}
	})
}
