package publicip_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/stun/v3"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
	"golang.org/x/net/dns/dnsmessage"
)

// stunResponse builds a Binding success response carrying attrs.
func stunResponse(t testing.TB, txid [stun.TransactionIDSize]byte, attrs ...stun.Setter) []byte {
	t.Helper()
	setters := append([]stun.Setter{stun.NewTransactionIDSetter(txid), stun.BindingSuccess}, attrs...)
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

type oldXOR struct{ stun.XORMappedAddress }

func (o oldXOR) AddTo(m *stun.Message) error { return o.AddToAs(m, 0x8020) }

func stunCases(t testing.TB) []struct {
	name    string
	in      []byte
	want    string
	wantErr bool
} {
	txid := [stun.TransactionIDSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	v4 := net.ParseIP("198.51.100.7").To4()
	v4in16 := net.ParseIP("198.51.100.7") // 16-byte form (tailscale/tailscale#5609)
	v6 := net.ParseIP("2001:db8::7")
	req, _, _ := publicip.BindingRequest()
	errResp, _ := stun.Build(stun.NewTransactionIDSetter(txid), stun.NewType(stun.MethodBinding, stun.ClassErrorResponse))
	return []struct {
		name    string
		in      []byte
		want    string
		wantErr bool
	}{
		{name: "xor v4", in: stunResponse(t, txid, &stun.XORMappedAddress{IP: v4, Port: 41234}, stun.Fingerprint), want: "198.51.100.7:41234"},
		{name: "xor v4 in 16 bytes", in: stunResponse(t, txid, &stun.XORMappedAddress{IP: v4in16, Port: 1}), want: "198.51.100.7:1"},
		{name: "xor v6", in: stunResponse(t, txid, &stun.XORMappedAddress{IP: v6, Port: 3478}), want: "[2001:db8::7]:3478"},
		{name: "old 0x8020 type", in: stunResponse(t, txid, oldXOR{stun.XORMappedAddress{IP: v4, Port: 5}}), want: "198.51.100.7:5"},
		{name: "mapped-address only", in: stunResponse(t, txid, &stun.MappedAddress{IP: v4, Port: 6}), want: "198.51.100.7:6"},
		{name: "no address", in: stunResponse(t, txid, stun.NewSoftware("x")), wantErr: true},
		{name: "a request is not a response", in: req, wantErr: true},
		{name: "error response", in: errResp.Raw, wantErr: true},
		{name: "not stun", in: []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), wantErr: true},
		{name: "empty", in: nil, wantErr: true},
		{name: "truncated", in: stunResponse(t, txid, &stun.XORMappedAddress{IP: v4, Port: 41234})[:26], wantErr: true},
	}
}

func TestParseBindingResponse(t *testing.T) {
	for _, tt := range stunCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			_, got, err := publicip.ParseBindingResponse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseBindingResponse() error = %v, wantErr %t", err, tt.wantErr)
			}
			if err == nil && got.String() != tt.want {
				t.Errorf("ParseBindingResponse() = %s, want %s", got, tt.want)
			}
		})
	}
}

func FuzzParseBindingResponse(f *testing.F) {
	for _, tt := range stunCases(f) {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, ap, err := publicip.ParseBindingResponse(b)
		if err == nil && (!ap.IsValid() || ap.Addr().Is4In6()) {
			t.Fatalf("ParseBindingResponse(%x) = %v without error; want a valid unmapped address", b, ap)
		}
	})
}

func whoamiResponse(t testing.TB, id uint16, rcode dnsmessage.RCode, bodies ...dnsmessage.ResourceBody) []byte {
	t.Helper()
	msg := dnsmessage.Message{Header: dnsmessage.Header{ID: id, Response: true, RCode: rcode}}
	for _, b := range bodies {
		msg.Answers = append(msg.Answers, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName("x."), Class: dnsmessage.ClassINET},
			Body:   b,
		})
	}
	out, err := msg.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func whoamiCases(t testing.TB) []struct {
	name    string
	v6      bool
	id      uint16
	in      []byte
	want    string
	wantErr bool
} {
	return []struct {
		name    string
		v6      bool
		id      uint16
		in      []byte
		want    string
		wantErr bool
	}{
		{name: "A", id: 7, in: whoamiResponse(t, 7, dnsmessage.RCodeSuccess, &dnsmessage.AResource{A: [4]byte{198, 51, 100, 7}}), want: "198.51.100.7"},
		{name: "AAAA", v6: true, id: 7, in: whoamiResponse(t, 7, dnsmessage.RCodeSuccess, &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr("2001:db8::7").As16()}), want: "2001:db8::7"},
		{name: "quoted TXT after a subnet record", id: 9, in: whoamiResponse(t, 9, dnsmessage.RCodeSuccess,
			&dnsmessage.TXTResource{TXT: []string{"edns0-client-subnet 192.0.2.0/24"}}, &dnsmessage.TXTResource{TXT: []string{`"198.51.100.7"`}}), want: "198.51.100.7"},
		{name: "mapped TXT is unmapped", id: 9, in: whoamiResponse(t, 9, dnsmessage.RCodeSuccess, &dnsmessage.TXTResource{TXT: []string{"::ffff:198.51.100.7"}}), want: "198.51.100.7"},
		{name: "wrong family", v6: true, id: 1, in: whoamiResponse(t, 1, dnsmessage.RCodeSuccess, &dnsmessage.TXTResource{TXT: []string{"198.51.100.7"}}), wantErr: true},
		{name: "wrong id", id: 2, in: whoamiResponse(t, 3, dnsmessage.RCodeSuccess, &dnsmessage.AResource{A: [4]byte{1, 2, 3, 4}}), wantErr: true},
		{name: "nxdomain", id: 4, in: whoamiResponse(t, 4, dnsmessage.RCodeNameError), wantErr: true},
		{name: "no answer", id: 4, in: whoamiResponse(t, 4, dnsmessage.RCodeSuccess), wantErr: true},
		{name: "garbage", id: 4, in: []byte{0, 4, 0x80}, wantErr: true},
	}
}

func TestParseWhoamiResponse(t *testing.T) {
	for _, tt := range whoamiCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := publicip.ParseWhoamiResponse("google", tt.v6, tt.id, tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseWhoamiResponse() error = %v, wantErr %t", err, tt.wantErr)
			}
			if err == nil && got.String() != tt.want {
				t.Errorf("ParseWhoamiResponse() = %s, want %s", got, tt.want)
			}
		})
	}
}

func FuzzParseWhoamiResponse(f *testing.F) {
	for _, tt := range whoamiCases(f) {
		f.Add(tt.in, tt.id, tt.v6)
	}
	f.Fuzz(func(t *testing.T, b []byte, id uint16, v6 bool) {
		a, err := publicip.ParseWhoamiResponse("google", v6, id, b)
		if err == nil && (!a.IsValid() || a.Is6() != v6 || a.Is4In6() || a.Zone() != "") {
			t.Fatalf("ParseWhoamiResponse = %v for v6=%t without error", a, v6)
		}
	})
}

func TestWhoamiQueryRoundTrip(t *testing.T) {
	for _, kind := range publicip.WhoamiKinds {
		for _, v6 := range []bool{false, true} {
			b, err := publicip.WhoamiQuery(kind, v6, 42)
			if err != nil {
				t.Fatalf("WhoamiQuery(%s, %t): %v", kind, v6, err)
			}
			var m dnsmessage.Message
			if err := m.Unpack(b); err != nil || m.ID != 42 || len(m.Questions) != 1 || m.RecursionDesired {
				t.Errorf("WhoamiQuery(%s, %t) = %+v, %v", kind, v6, m, err)
			}
		}
	}
	if _, err := publicip.WhoamiQuery("nope", false, 1); err == nil {
		t.Error("WhoamiQuery(nope) succeeded")
	}
}

var echoCases = []struct {
	name    string
	body    string
	v6      bool
	want    string
	wantErr bool
}{
	{name: "ipv4 with newline", body: "203.0.113.7\n", want: "203.0.113.7"},
	{name: "ipv6", body: " 2001:db8::1 \r\n", v6: true, want: "2001:db8::1"},
	{name: "mapped ipv4", body: "::ffff:203.0.113.7", want: "203.0.113.7"},
	{name: "html", body: "<!DOCTYPE html><html></html>", wantErr: true},
	{name: "empty", body: "", wantErr: true},
	{name: "ipv6 on an ipv4 request", body: "2001:db8::1", wantErr: true},
	{name: "zone", body: "fe80::1%eth0", v6: true, wantErr: true},
	{name: "too long", body: "203.0.113.7" + string(make([]byte, 100)), wantErr: true},
}

func TestParseEchoBody(t *testing.T) {
	for _, tt := range echoCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := publicip.ParseEchoBody([]byte(tt.body), tt.v6)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseEchoBody(%q) error = %v, wantErr %t", tt.body, err, tt.wantErr)
			}
			if err == nil && got.String() != tt.want {
				t.Errorf("ParseEchoBody(%q) = %s, want %s", tt.body, got, tt.want)
			}
		})
	}
}

func FuzzParseEchoBody(f *testing.F) {
	for _, tt := range echoCases {
		f.Add([]byte(tt.body), tt.v6)
	}
	f.Fuzz(func(t *testing.T, body []byte, v6 bool) {
		a, err := publicip.ParseEchoBody(body, v6)
		if err == nil && (len(body) > 64 || a.Is6() != v6 || a.Is4In6()) {
			t.Fatalf("ParseEchoBody(%q, %t) = %v without error", body, v6, a)
		}
	})
}

var whoamiSpecCases = []struct {
	in      string
	want    publicip.Whoami
	wantErr bool
}{
	{in: "google@ns1.google.com", want: publicip.Whoami{Kind: "google", Server: "ns1.google.com"}},
	{in: "Cloudflare@[::1]:5353", want: publicip.Whoami{Kind: "cloudflare", Server: "[::1]:5353"}},
	{in: "cloudflare@2606:4700:4700::1111", want: publicip.Whoami{Kind: "cloudflare", Server: "2606:4700:4700::1111"}},
	{in: "opendns@127.0.0.1:53", want: publicip.Whoami{Kind: "opendns", Server: "127.0.0.1:53"}},
	{in: "google", wantErr: true},
	{in: "akamai@1.2.3.4", wantErr: true},
	{in: "google@", wantErr: true},
	{in: "google@127.0.0.1:0", wantErr: true},
	{in: "google@127.0.0.1:99999", wantErr: true},
}

func TestParseWhoami(t *testing.T) {
	for _, tt := range whoamiSpecCases {
		t.Run(tt.in, func(t *testing.T) {
			got, err := publicip.ParseWhoami(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseWhoami(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" && !tt.wantErr {
				t.Errorf("ParseWhoami(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzParseWhoami(f *testing.F) {
	for _, tt := range whoamiSpecCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := publicip.ParseWhoami(s)
		if err != nil {
			return
		}
		again, err := publicip.ParseWhoami(w.String())
		if err != nil || again != w {
			t.Fatalf("ParseWhoami(%q) = %+v; reparsing its String() gave %+v, %v", s, w, again, err)
		}
	})
}
