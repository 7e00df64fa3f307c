package publicip_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
	"github.com/sockcat/sockcat/modes/resolve/resolvetest"
)

// fast timings keep every test well under a second.
var fast = publicip.Timing{
	RTO:       20 * time.Millisecond,
	DNSDelay:  10 * time.Millisecond,
	HTTPDelay: 30 * time.Millisecond,
	DNSRetry:  50 * time.Millisecond,
	Grace:     100 * time.Millisecond,
}

func stunServer(t *testing.T, addr string, mode resolvetest.STUNMode, m resolvetest.MapFunc) *resolvetest.STUNServer {
	t.Helper()
	s, err := resolvetest.StartSTUN(addr, mode, m)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dnsServer(t *testing.T, addr string, m resolvetest.MapFunc, silent bool) *resolvetest.DNSServer {
	t.Helper()
	s, err := resolvetest.StartDNS(addr, m, nil, silent)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func echoServer(t *testing.T, addr string, mode resolvetest.EchoMode, m resolvetest.MapFunc) string {
	t.Helper()
	s, err := resolvetest.StartEcho(addr, mode, m)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(s.Close)
	return s.URL
}

func discover(t *testing.T, cfg publicip.Config, v6 bool, timeout time.Duration) publicip.Result {
	t.Helper()
	if cfg.Timing == (publicip.Timing{}) {
		cfg.Timing = fast
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return publicip.Discover(ctx, cfg, v6)
}

// summary is the part of a result the tests compare.
type summary struct {
	Status  publicip.Status
	Address string
	Answers []string // METHOD=ADDRESS or METHOD!ERROR-PREFIX
}

func summarize(r publicip.Result) summary {
	s := summary{Status: r.Status}
	if r.Address.IsValid() {
		s.Address = r.Address.String()
	}
	for _, src := range r.Sources {
		if src.OK() {
			s.Answers = append(s.Answers, string(src.Method)+"="+src.Address.String())
		} else {
			msg, _, _ := strings.Cut(src.Err, ": ")
			s.Answers = append(s.Answers, string(src.Method)+"!"+msg)
		}
	}
	return s
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	pub := resolvetest.Fixed("198.51.100.7")
	other := resolvetest.Fixed("198.51.100.9")
	tests := []struct {
		name    string
		setup   func(t *testing.T) publicip.Config
		timeout time.Duration
		want    summary
	}{
		{
			name: "stun and dns agree, http not needed",
			setup: func(t *testing.T) publicip.Config {
				s := stunServer(t, "127.0.0.1:0", resolvetest.STUNNormal, pub)
				d := dnsServer(t, "127.0.0.1:0", pub, false)
				return publicip.Config{
					STUN:   []string{s.Addr.String()},
					Whoami: []publicip.Whoami{{Kind: "google", Server: d.Addr.String()}},
					HTTP:   []string{"http://127.0.0.1:1/"},
					Timing: publicip.Timing{RTO: 20 * time.Millisecond, DNSDelay: 10 * time.Millisecond, HTTPDelay: 5 * time.Second},
				}
			},
			timeout: 10 * time.Second,
			want: summary{Status: publicip.StatusConfirmed, Address: "198.51.100.7",
				Answers: []string{"stun=198.51.100.7", "dns=198.51.100.7", "http!not started"}},
		},
		{
			name: "two stun servers with different IPs agree",
			setup: func(t *testing.T) publicip.Config {
				a := stunServer(t, "127.0.0.1:0", resolvetest.STUNNormal, pub)
				b := stunServer(t, "127.0.0.2:0", resolvetest.STUNNormal, pub)
				return publicip.Config{STUN: []string{a.Addr.String(), b.Addr.String()}}
			},
			timeout: 5 * time.Second,
			want:    summary{Status: publicip.StatusConfirmed, Address: "198.51.100.7", Answers: []string{"stun=198.51.100.7", "stun=198.51.100.7"}},
		},
		{
			name: "conflict reports no address",
			setup: func(t *testing.T) publicip.Config {
				s := stunServer(t, "127.0.0.1:0", resolvetest.STUNNormal, pub)
				d := dnsServer(t, "127.0.0.1:0", other, false)
				return publicip.Config{
					STUN:   []string{s.Addr.String()},
					Whoami: []publicip.Whoami{{Kind: "opendns", Server: d.Addr.String()}},
				}
			},
			timeout: 5 * time.Second,
			want:    summary{Status: publicip.StatusConflict, Answers: []string{"stun=198.51.100.7", "dns=198.51.100.9"}},
		},
		{
			name: "one source failing leaves a single source",
			setup: func(t *testing.T) publicip.Config {
				s := stunServer(t, "127.0.0.1:0", resolvetest.STUNSilent, pub)
				d := dnsServer(t, "127.0.0.1:0", pub, false)
				return publicip.Config{
					STUN:   []string{s.Addr.String()},
					Whoami: []publicip.Whoami{{Kind: "cloudflare", Server: d.Addr.String()}},
				}
			},
			timeout: time.Second,
			want:    summary{Status: publicip.StatusSingleSource, Address: "198.51.100.7", Answers: []string{"stun!timeout", "dns=198.51.100.7"}},
		},
		{
			name: "all failing",
			setup: func(t *testing.T) publicip.Config {
				s := stunServer(t, "127.0.0.1:0", resolvetest.STUNGarbage, pub)
				d := dnsServer(t, "127.0.0.1:0", pub, true)
				html := echoServer(t, "127.0.0.1:0", resolvetest.EchoHTML, pub)
				e500 := echoServer(t, "127.0.0.1:0", resolvetest.EchoError, pub)
				huge := echoServer(t, "127.0.0.1:0", resolvetest.EchoHuge, pub)
				return publicip.Config{
					STUN:   []string{s.Addr.String()},
					Whoami: []publicip.Whoami{{Kind: "google", Server: d.Addr.String()}},
					HTTP:   []string{html, e500, huge},
				}
			},
			timeout: time.Second,
			want: summary{Status: publicip.StatusNotFound, Answers: []string{
				"stun!timeout", "dns!timeout", "http!body \"<!DOCTYPE html><html…\" is not an ip address",
				"http!http status 500 Internal Server Error", "http!body longer than 64 bytes"}},
		},
		{
			name: "slow echo times out",
			setup: func(t *testing.T) publicip.Config {
				return publicip.Config{HTTP: []string{echoServer(t, "127.0.0.1:0", resolvetest.EchoSlow, pub)}}
			},
			timeout: 600 * time.Millisecond,
			want:    summary{Status: publicip.StatusNotFound, Answers: []string{"http!timeout"}},
		},
		{
			name: "http echo alone",
			setup: func(t *testing.T) publicip.Config {
				return publicip.Config{HTTP: []string{echoServer(t, "127.0.0.1:0", resolvetest.EchoNormal, nil)}}
			},
			timeout: 5 * time.Second,
			want:    summary{Status: publicip.StatusSingleSource, Address: "127.0.0.1", Answers: []string{"http=127.0.0.1"}},
		},
		{
			name: "stun variants: mapped-address only, old xor type",
			setup: func(t *testing.T) publicip.Config {
				a := stunServer(t, "127.0.0.1:0", resolvetest.STUNMappedOnly, pub)
				b := stunServer(t, "127.0.0.2:0", resolvetest.STUNOldXOR, pub)
				return publicip.Config{STUN: []string{a.Addr.String(), b.Addr.String()}}
			},
			timeout: 5 * time.Second,
			want: summary{Status: publicip.StatusConfirmed, Address: "198.51.100.7",
				Answers: []string{"stun=198.51.100.7", "stun=198.51.100.7"}},
		},
		{
			name: "stun retransmits a lost request",
			setup: func(t *testing.T) publicip.Config {
				c := stunServer(t, "127.0.0.1:0", resolvetest.STUNDropFirst, pub)
				return publicip.Config{STUN: []string{c.Addr.String()}}
			},
			timeout: 5 * time.Second,
			want:    summary{Status: publicip.StatusSingleSource, Address: "198.51.100.7", Answers: []string{"stun=198.51.100.7"}},
		},
		{
			name: "wrong transaction id is ignored",
			setup: func(t *testing.T) publicip.Config {
				a := stunServer(t, "127.0.0.1:0", resolvetest.STUNWrongTxID, pub)
				return publicip.Config{STUN: []string{a.Addr.String()}}
			},
			timeout: 300 * time.Millisecond,
			want:    summary{Status: publicip.StatusNotFound, Answers: []string{"stun!timeout"}},
		},
		{
			name: "unresolvable and wrong-family servers",
			setup: func(t *testing.T) publicip.Config {
				return publicip.Config{
					STUN:   []string{"[::1]:3478"},
					Whoami: []publicip.Whoami{{Kind: "google", Server: "nosuch.example.test."}},
					Lookup: func(context.Context, string, string) ([]netip.Addr, error) {
						return nil, &netErr{"no such host"}
					},
				}
			},
			timeout: 2 * time.Second,
			want:    summary{Status: publicip.StatusNotFound, Answers: []string{"stun!::1 is not an IPv4 address", "dns!lookup nosuch.example.test."}},
		},
		{
			name: "http family is forced: an IPv4-only server is not asked over IPv6",
			setup: func(t *testing.T) publicip.Config {
				return publicip.Config{HTTP: []string{echoServer(t, "127.0.0.1:0", resolvetest.EchoNormal, nil)}}
			},
			timeout: 2 * time.Second,
			want:    summary{Status: publicip.StatusNotFound, Answers: []string{"http!dial"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.setup(t)
			v6 := strings.Contains(tt.name, "over IPv6")
			got := summarize(discover(t, cfg, v6, tt.timeout))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Discover mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

type netErr struct{ s string }

func (e *netErr) Error() string { return e.s }

func TestDiscoverIPv6(t *testing.T) {
	t.Parallel()
	s := stunServer(t, "[::1]:0", resolvetest.STUNNormal, resolvetest.Identity)
	d := dnsServer(t, "[::1]:0", nil, false)
	e := echoServer(t, "[::1]:0", resolvetest.EchoNormal, nil)
	cfg := publicip.Config{
		STUN:   []string{s.Addr.String()},
		Whoami: []publicip.Whoami{{Kind: "opendns", Server: d.Addr.String()}},
		HTTP:   []string{e},
		Timing: publicip.Timing{RTO: 20 * time.Millisecond, DNSDelay: time.Millisecond, HTTPDelay: time.Millisecond},
	}
	r := discover(t, cfg, true, 5*time.Second)
	if r.Status != publicip.StatusConfirmed || r.Address != netip.MustParseAddr("::1") {
		t.Fatalf("Discover IPv6 = %s %v, want confirmed ::1; sources %+v", r.Status, r.Address, r.Sources)
	}
	nat := publicip.Verdict(r, []netip.Addr{netip.MustParseAddr("::1")}, netip.Addr{}, "")
	if nat.BehindNAT || !nat.PublicOnInterface {
		t.Errorf("Verdict = %+v, want no NAT", nat)
	}
	st := r.Sources[0]
	if st.Method != publicip.MethodSTUN || st.MappedPort != st.LocalPort {
		t.Errorf("STUN source %+v: mapped port should equal local port", st)
	}
}

// TestDiscoverMapping plays a cone and a symmetric NAT with two servers on
// different loopback addresses.
func TestDiscoverMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		a, b         resolvetest.MapFunc
		wantMapping  publicip.Mapping
		wantVaries   bool
		wantMultiple bool
	}{
		{"cone", resolvetest.Fixed("198.51.100.7"), resolvetest.Fixed("198.51.100.7"), publicip.MappingEndpointIndependent, false, false},
		{"symmetric", resolvetest.FixedPort("198.51.100.7:40000"), resolvetest.FixedPort("198.51.100.7:40001"), publicip.MappingAddressDependent, true, false},
		{"several public IPs", resolvetest.Fixed("198.51.100.7"), resolvetest.Fixed("198.51.100.8"), publicip.MappingAddressDependent, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := stunServer(t, "127.0.0.1:0", resolvetest.STUNNormal, tt.a)
			b := stunServer(t, "127.0.0.2:0", resolvetest.STUNNormal, tt.b)
			r := discover(t, publicip.Config{STUN: []string{a.Addr.String(), b.Addr.String()}}, false, 5*time.Second)
			local := []netip.Addr{netip.MustParseAddr("10.0.0.2")}
			nat := publicip.Verdict(r, local, local[0], "eth0")
			if !nat.Known || !nat.BehindNAT {
				t.Fatalf("Verdict = %+v, want behind NAT", nat)
			}
			if nat.Mapping != tt.wantMapping || nat.MappingVariesByDest == nil || *nat.MappingVariesByDest != tt.wantVaries || nat.MultiplePublicIPs != tt.wantMultiple {
				t.Errorf("Verdict = mapping %s varies %v multiple %t, want %s %t %t", nat.Mapping, nat.MappingVariesByDest, nat.MultiplePublicIPs, tt.wantMapping, tt.wantVaries, tt.wantMultiple)
			}
		})
	}
}

// TestDiscoverStartsEarly: once STUN has failed, DNS whoami starts at once
// instead of waiting for its stagger delay.
func TestDiscoverStartsEarly(t *testing.T) {
	t.Parallel()
	d := dnsServer(t, "127.0.0.1:0", resolvetest.Fixed("198.51.100.7"), false)
	cfg := publicip.Config{
		STUN:   []string{"[::1]:3478"}, // wrong family: fails at once
		Whoami: []publicip.Whoami{{Kind: "google", Server: d.Addr.String()}},
		Timing: publicip.Timing{DNSDelay: 10 * time.Second, HTTPDelay: 10 * time.Second},
	}
	start := time.Now()
	r := discover(t, cfg, false, 20*time.Second)
	if r.Status != publicip.StatusSingleSource || time.Since(start) > 5*time.Second {
		t.Errorf("Discover = %s after %v, want single-source well before the 10s DNS delay", r.Status, time.Since(start))
	}
}
