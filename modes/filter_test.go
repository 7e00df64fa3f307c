package modes

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseRule(t *testing.T) {
	tests := []struct {
		in      string
		want    string // the rule's String(); "" when an error is wanted
		wantErr string
	}{
		{in: "10.0.0.0/8", want: "10.0.0.0/8"},
		{in: "10.1.2.3/8", want: "10.0.0.0/8"}, // host bits ignored
		{in: "192.0.2.7", want: "192.0.2.7"},
		{in: " 192.0.2.7 ", want: "192.0.2.7"},
		{in: "::1", want: "::1"},
		{in: "fd00::/8", want: "fd00::/8"},
		{in: "::ffff:10.0.0.1", want: "10.0.0.1"},               // mapped: the IPv4 address
		{in: "::ffff:10.0.0.0/104", want: "10.0.0.0/8"},         // mapped prefix
		{in: "::ffff:0:0/96", want: "0.0.0.0/0"},                // every IPv4 client
		{in: "localhost", want: "localhost"},                    // resolved later
		{in: "Host-1.Example.COM.", want: "host-1.example.com"}, // case and final dot
		{in: "_srv.example", want: "_srv.example"},
		{in: "", wantErr: "want a CIDR"},
		{in: "10.0.0.0/33", wantErr: "want a CIDR"},
		{in: "10.0.0.0/", wantErr: "want a CIDR"},
		{in: "fe80::1%eth0", wantErr: "zones"},
		{in: "-bad.example", wantErr: "want a CIDR"},
		{in: "a..b", wantErr: "want a CIDR"},
		{in: "has space", wantErr: "want a CIDR"},
		{in: "10.0.0.256", wantErr: "want a CIDR"}, // not an address, and not a name either
		{in: "1x.example.2x", want: "1x.example.2x"},
		{in: strings.Repeat("a", 64) + ".example", wantErr: "want a CIDR"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := parseRule(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRule(%q) = %v, %v; want an error containing %q", tt.in, r, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRule(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("parseRule(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFilterAllowed(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		deny  []string
		ok    []string
		no    []string
	}{
		{name: "no rules", ok: []string{"192.0.2.1", "::1"}},
		{name: "allow cidr", allow: []string{"127.0.0.0/8"}, ok: []string{"127.0.0.1", "127.9.9.9", "::ffff:127.0.0.1"}, no: []string{"10.0.0.1", "::1"}},
		{name: "deny address", deny: []string{"127.0.0.1"}, ok: []string{"127.0.0.2", "::1"}, no: []string{"127.0.0.1", "::ffff:127.0.0.1"}},
		{name: "deny wins", allow: []string{"127.0.0.0/8"}, deny: []string{"127.0.0.2"}, ok: []string{"127.0.0.1"}, no: []string{"127.0.0.2", "10.0.0.1"}},
		{name: "ipv6", allow: []string{"fd00::/8", "::1"}, ok: []string{"fd12::5", "::1"}, no: []string{"fe80::1", "127.0.0.1"}},
		{name: "mapped rule", allow: []string{"::ffff:10.0.0.0/104"}, ok: []string{"10.1.2.3"}, no: []string{"11.0.0.1"}},
		{name: "host name", allow: []string{"localhost"}, ok: []string{"127.0.0.1"}, no: []string{"192.0.2.1"}},
		{name: "zoned client", allow: []string{"fe80::1"}, ok: []string{"fe80::1%lo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := listenCfg()
			cfg.Serve.Allow, cfg.Serve.Deny = tt.allow, tt.deny
			if err := checkFilter(cfg.Serve); err != nil {
				t.Fatal(err)
			}
			f, err := newFilter(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.ok {
				a := &net.TCPAddr{IP: net.ParseIP(strings.Split(s, "%")[0]), Port: 1}
				if i := strings.Index(s, "%"); i >= 0 {
					a.Zone = s[i+1:]
				}
				if !f.allowed(a) {
					t.Errorf("%s refused, want allowed", s)
				}
			}
			for _, s := range tt.no {
				if f.allowed(&net.UDPAddr{IP: net.ParseIP(s), Port: 1}) {
					t.Errorf("%s allowed, want refused", s)
				}
			}
		})
	}
}

func TestFilterFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "# office\n10.0.0.0/8   # lan\n\n  ::1\nlocalhost\n")
	bad := write("bad", "10.0.0.0/8\nnot a rule\n")
	empty := write("empty", "# nobody\n")

	if err := checkFilter(ServeOptions{AllowFile: good}); err != nil {
		t.Errorf("good file: %v", err)
	}
	err := checkFilter(ServeOptions{DenyFile: bad})
	if err == nil || !strings.Contains(err.Error(), bad+":2:") {
		t.Errorf("bad file: %v, want the error to name %s:2", err, bad)
	}
	err = checkFilter(ServeOptions{AllowFile: filepath.Join(dir, "missing")})
	if err == nil || !strings.Contains(err.Error(), "--allow-file") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	// An allow file with no rules allows no one.
	cfg := listenCfg()
	cfg.Serve.AllowFile = empty
	f, err := newFilter(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.allowed(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}) {
		t.Error("an empty allow file let a client in")
	}
}

// FuzzFilterRules: a rules file never panics the parser; every rule it
// accepts prints as a rule that parses back to itself; an address rule
// matches its own address and, as a /N prefix, whatever netip says it
// contains.
func FuzzFilterRules(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/8", "192.0.2.7", "::1", "fd00::/8", "::ffff:10.0.0.0/104", "localhost",
		"# c\n10.0.0.0/8 # lan\n\n::1", "fe80::1%eth0", "a..b", "::ffff:0:0/95",
	} {
		f.Add(s, []byte{127, 0, 0, 1})
	}
	f.Fuzz(func(t *testing.T, data string, ip []byte) {
		rules, err := parseRules(strings.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		addr, addrOK := netip.AddrFromSlice(ip)
		for _, r := range rules {
			again, err := parseRule(r.String())
			if err != nil || again != r {
				t.Fatalf("rule %q printed as %q parses to %v, %v", data, r.String(), again, err)
			}
			if r.host != "" {
				continue
			}
			fl := &filter{allow: []netip.Prefix{r.prefix}, hasAllow: true}
			a := r.prefix.Addr()
			if !fl.allowedIP(a) {
				t.Fatalf("rule %v does not match its own address %v", r, a)
			}
			if addrOK {
				want := r.prefix.Contains(addr.Unmap())
				if got := fl.allowedIP(addr); got != want {
					t.Fatalf("rule %v on %v: allowed %t, want %t", r, addr, got, want)
				}
				deny := &filter{deny: []netip.Prefix{r.prefix}}
				if deny.allowedIP(addr) == want {
					t.Fatalf("deny rule %v on %v disagrees with allow", r, addr)
				}
			}
		}
	})
}

// TestListenDenied: a refused client is closed before any byte moves and
// does not use up the one-shot listener; the next, allowed client is served.
func TestListenDenied(t *testing.T) {
	out := &srvBuffer{}
	errb := &srvBuffer{}
	cfg := listenCfg()
	cfg.Serve.Deny = []string{"127.0.0.1"}
	cfg.Verbose = true
	srv := startServer(t, cfg, Stdio{In: strings.NewReader("server data\n"), Out: out, Err: errb})

	refused, err := net.Dial("tcp", srv.addr)
	if err == nil {
		defer refused.Close()
		refused.Write([]byte("must not arrive\n"))
		refused.SetReadDeadline(time.Now().Add(srvWait))
		var b []byte
		b, err = io.ReadAll(refused)
		if len(b) != 0 {
			t.Errorf("refused client received %q", b)
		}
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("refused client: %v, want a reset (SPEC §5)", err)
	}
	errb.waitFor(t, "refused connection from 127.0.0.1:")

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	ok, err := d.Dial("tcp", srv.addr)
	if err != nil {
		t.Skipf("cannot use 127.0.0.2 as a source (%v): the allowed half of the test needs it", err)
	}
	defer ok.Close()
	ok.Write([]byte("allowed data\n"))
	ok.(*net.TCPConn).CloseWrite()
	ok.SetReadDeadline(time.Now().Add(srvWait))
	if b, _ := io.ReadAll(ok); string(b) != "server data\n" {
		t.Errorf("allowed client received %q", b)
	}
	if err := srv.result(t); err != nil {
		t.Errorf("listener: %v", err)
	}
	if got := out.String(); got != "allowed data\n" {
		t.Errorf("stdout = %q, want only the allowed client's data", got)
	}
}

// TestUDPDenied: a UDP listener drops the datagrams of a refused sender and
// prints the others'.
func TestUDPDenied(t *testing.T) {
	out := &srvBuffer{}
	errb := &srvBuffer{}
	inR, inW := io.Pipe()
	defer inW.Close()
	cfg := listenCfg()
	cfg.UDP = true
	cfg.Serve.Deny = []string{"127.0.0.1"}
	cfg.Verbose = true
	srv := startServer(t, cfg, Stdio{In: inR, Out: out, Err: errb})
	denied := dial(t, "udp", srv.addr)
	denied.Write([]byte("denied\n"))
	errb.waitFor(t, "refused datagrams from "+denied.LocalAddr().String())
	d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	ok, err := d.Dial("udp", srv.addr)
	if err != nil {
		t.Skipf("cannot use 127.0.0.2 as a source (%v)", err)
	}
	defer ok.Close()
	ok.Write([]byte("allowed\n"))
	out.waitFor(t, "allowed\n")
	if strings.Contains(out.String(), "denied") {
		t.Errorf("stdout has the refused sender's datagram: %q", out.String())
	}
}
