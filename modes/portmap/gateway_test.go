package portmap

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const procRoute = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
wlan0	00000000	0101A8C0	0003	0	0	600	00000000	0	0	0
eth0	00000000	014DA8C0	0003	0	0	100	00000000	0	0	0
eth0	004DA8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
tun0	00000000	00000000	0001	0	0	50	00000000	0	0	0
`

func TestParseProcRoutes(t *testing.T) {
	got, err := ParseProcRoutes(strings.NewReader(procRoute))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Iface: "wlan0", Gateway: netip.MustParseAddr("192.168.1.1"), Metric: 600},
		{Iface: "eth0", Gateway: netip.MustParseAddr("192.168.77.1"), Metric: 100},
	} // the on-link route and the gatewayless tun0 default are not gateways
	if d := cmp.Diff(want, got, addrCmp); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, c := range []struct{ iface, want string }{
		{"", "192.168.77.1"},       // lowest metric
		{"wlan0", "192.168.1.1"},   // the listener's interface
		{"nosuch", "192.168.77.1"}, // an interface without a default route
	} {
		r, ok := PickRoute(got, c.iface)
		if !ok || r.Gateway.String() != c.want {
			t.Errorf("PickRoute(%q) = %v %v, want %s", c.iface, r, ok, c.want)
		}
	}
	if _, ok := PickRoute(nil, ""); ok {
		t.Error("PickRoute found a route in an empty table")
	}
	if _, err := ParseProcRoutes(strings.NewReader("h\neth0 zz 00 3 0 0 0 00000000\n")); err == nil {
		t.Error("a bad line was accepted")
	}
}

func FuzzParseProcRoutes(f *testing.F) {
	f.Add(procRoute)
	f.Fuzz(func(t *testing.T, s string) {
		routes, err := ParseProcRoutes(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range routes {
			if !r.Gateway.Is4() {
				t.Fatalf("gateway %v is not IPv4", r.Gateway)
			}
		}
	})
}

func TestParseSSDPResponse(t *testing.T) {
	ok := "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\n" +
		"USN: uuid:x::urn:schemas-upnp-org:device:InternetGatewayDevice:2\r\nLOCATION: http://192.168.77.1:32921/rootDesc.xml\r\n\r\n"
	u, err := ParseSSDPResponse([]byte(ok))
	if err != nil || u.String() != "http://192.168.77.1:32921/rootDesc.xml" {
		t.Fatalf("got %v, %v", u, err)
	}
	for name, bad := range map[string]string{
		"not a gateway": strings.Replace(ok, "InternetGatewayDevice:2\r\nUSN", "MediaServer:1\r\nUSN", 1),
		"no location":   strings.Replace(ok, "LOCATION: http://192.168.77.1:32921/rootDesc.xml\r\n", "", 1),
		"file location": strings.Replace(ok, "http://192.168.77.1:32921", "file://", 1),
		"not http":      "NOTIFY * HTTP/1.1\r\n\r\n",
		"status 404":    strings.Replace(ok, "200 OK", "404 Not Found", 1),
	} {
		if _, err := ParseSSDPResponse([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseSSDPResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://10.0.0.1:5000/d.xml\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseSSDPResponse(b)
		if err == nil && (u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
			t.Fatalf("accepted location %v", u)
		}
	})
}

func TestDoubleNAT(t *testing.T) {
	a := netip.MustParseAddr
	for _, c := range []struct {
		ext, public string
		want        string
	}{
		{"11.22.33.1", "", ""},
		{"11.22.33.1", "11.22.33.1", ""},
		{"192.168.0.2", "", "is private"},
		{"10.1.2.3", "11.22.33.1", "is private"},
		{"100.64.3.4", "", "carrier-grade NAT"},
		{"11.22.33.1", "44.55.66.1", "is not this host's public address 44.55.66.1"},
	} {
		var pub netip.Addr
		if c.public != "" {
			pub = a(c.public)
		}
		got := DoubleNAT(a(c.ext), pub)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("DoubleNAT(%s, %s) = %q, want %q", c.ext, c.public, got, c.want)
		}
	}
}
