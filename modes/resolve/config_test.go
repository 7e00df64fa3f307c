package resolve

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

func TestServerList(t *testing.T) {
	defaults := []string{"d1", "d2"}
	tests := []struct {
		name       string
		flags      []string
		env        string
		noExternal bool
		want       []string
		wantErr    bool
	}{
		{name: "defaults", want: []string{"d1", "d2"}},
		{name: "no external empties defaults", noExternal: true, want: nil},
		{name: "env replaces defaults", env: "a:1, b:2", want: []string{"a:1", "b:2"}},
		{name: "flags win over env", flags: []string{"f:1"}, env: "a:1", want: []string{"f:1"}},
		{name: "repeated flags", flags: []string{"f:1", "g:2,h:3"}, want: []string{"f:1", "g:2", "h:3"}},
		{name: "none disables", flags: []string{"none"}, want: nil},
		{name: "NONE in env disables", env: "NONE", want: nil},
		{name: "none with a server", flags: []string{"none", "a:1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ServerList(tt.flags, tt.env, defaults, tt.noExternal)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ServerList() error = %v, wantErr %t", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ServerList() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	base := func() Config { return Config{Timeout: time.Second} }
	tests := []struct {
		name     string
		mod      func(c *Config)
		wantErr  bool
		external bool // the error is ErrExternal
	}{
		{name: "zero config", mod: func(*Config) {}},
		{name: "-4 and -6", mod: func(c *Config) { c.Only4, c.Only6 = true, true }, wantErr: true},
		{name: "zero timeout", mod: func(c *Config) { c.Timeout = 0 }, wantErr: true},
		{name: "public and no-public", mod: func(c *Config) { c.Public, c.NoPublic = true, true }, wantErr: true},
		{name: "short and json", mod: func(c *Config) { c.Short, c.JSON = true, true }, wantErr: true},
		{name: "short and names", mod: func(c *Config) { c.Short, c.Names = true, []string{"x"} }, wantErr: true},
		{name: "stun without port", mod: func(c *Config) { c.STUN = []string{"127.0.0.1"} }, wantErr: true},
		{name: "stun port out of range", mod: func(c *Config) { c.STUN = []string{"127.0.0.1:70000"} }, wantErr: true},
		{name: "echo not http", mod: func(c *Config) { c.HTTPEcho = []string{"ftp://127.0.0.1/"} }, wantErr: true},
		{name: "bad name port", mod: func(c *Config) { c.Names = []string{"host:0"} }, wantErr: true},
		{name: "loopback servers under no-external", mod: func(c *Config) {
			c.NoExternal = true
			c.STUN = []string{"127.0.0.1:3478", "[::1]:3478", "localhost:3478"}
			c.Whoami = []publicip.Whoami{{Kind: "google", Server: "127.0.0.2:53"}, {Kind: "google", Server: "::1"}}
			c.HTTPEcho = []string{"http://127.0.0.1:8080/", "https://[::1]/ip"}
			c.DNSServer = "127.0.0.1:53"
		}},
		{name: "external stun", mod: func(c *Config) { c.NoExternal, c.STUN = true, []string{"stun.l.google.com:19302"} }, wantErr: true, external: true},
		{name: "external whoami", mod: func(c *Config) {
			c.NoExternal, c.Whoami = true, []publicip.Whoami{{Kind: "cloudflare", Server: "192.0.2.1"}}
		}, wantErr: true, external: true},
		{name: "external echo", mod: func(c *Config) { c.NoExternal, c.HTTPEcho = true, []string{"https://api.ipify.org"} }, wantErr: true, external: true},
		{name: "external dns server", mod: func(c *Config) { c.NoExternal, c.DNSServer = true, "192.0.2.53:53" }, wantErr: true, external: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mod(&c)
			err := c.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() error = %v, wantErr %t", err, tt.wantErr)
			}
			if errors.Is(err, ErrExternal) != tt.external {
				t.Errorf("Validate() error = %v, want ErrExternal %t", err, tt.external)
			}
		})
	}
}

func TestSections(t *testing.T) {
	tests := []struct {
		name                 string
		cfg                  Config
		local, public, names bool
	}{
		{name: "default", cfg: Config{}, local: true, public: true},
		{name: "no-public", cfg: Config{NoPublic: true}, local: true},
		{name: "local", cfg: Config{Local: true}, local: true},
		{name: "public", cfg: Config{Public: true}, public: true},
		{name: "short", cfg: Config{Short: true}, public: true},
		{name: "names", cfg: Config{Names: []string{"x"}}, names: true},
		{name: "names and local", cfg: Config{Names: []string{"x"}, Local: true}, local: true, names: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, p, n := tt.cfg.Sections()
			if l != tt.local || p != tt.public || n != tt.names {
				t.Errorf("Sections() = %t %t %t, want %t %t %t", l, p, n, tt.local, tt.public, tt.names)
			}
		})
	}
}

var splitNameCases = []struct {
	in      string
	host    string
	port    int
	wantErr bool
}{
	{in: "example.test.", host: "example.test."},
	{in: "example.test.:80", host: "example.test.", port: 80},
	{in: "localhost:http", host: "localhost", port: 80},
	{in: "[::1]:443", host: "::1", port: 443},
	{in: "::1", host: "::1"},
	{in: "[2001:db8::1]", host: "2001:db8::1"},
	{in: "192.0.2.1:65535", host: "192.0.2.1", port: 65535},
	{in: "host:0", wantErr: true},
	{in: "host:65536", wantErr: true},
	{in: "host:nosuchservice", wantErr: true},
	{in: "", wantErr: true},
	{in: "a b", wantErr: true},
	{in: ":80", wantErr: true},
}

func TestSplitName(t *testing.T) {
	for _, tt := range splitNameCases {
		t.Run(tt.in, func(t *testing.T) {
			host, port, err := SplitName(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SplitName(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if !tt.wantErr && (host != tt.host || port != tt.port) {
				t.Errorf("SplitName(%q) = %q, %d, want %q, %d", tt.in, host, port, tt.host, tt.port)
			}
		})
	}
}

func FuzzSplitName(f *testing.F) {
	for _, tt := range splitNameCases {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := SplitName(s)
		if err != nil {
			return
		}
		if host == "" || port < 0 || port > 65535 {
			t.Fatalf("SplitName(%q) = %q, %d", s, host, port)
		}
	})
}

var hostsCases = []struct {
	name string
	in   string
	want map[string][]netip.Addr
}{
	{
		name: "debian",
		in:   "127.0.0.1\tlocalhost\n127.0.1.1 vm.example.test vm # the FQDN trap\n::1 localhost ip6-localhost\n# comment\n\nbad line\n",
		want: map[string][]netip.Addr{
			"localhost":       {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
			"vm.example.test": {netip.MustParseAddr("127.0.1.1")},
			"vm":              {netip.MustParseAddr("127.0.1.1")},
			"ip6-localhost":   {netip.MustParseAddr("::1")},
		},
	},
	{
		name: "case and trailing dot folded, mapped unmapped",
		in:   "::ffff:192.0.2.9 Box.Example.Test.\n",
		want: map[string][]netip.Addr{"box.example.test": {netip.MustParseAddr("192.0.2.9")}},
	},
}

func TestParseHosts(t *testing.T) {
	for _, tt := range hostsCases {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseHosts([]byte(tt.in))
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("ParseHosts mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseHosts(f *testing.F) {
	for _, tt := range hostsCases {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for name, addrs := range ParseHosts(b) {
			if name == "" || len(addrs) == 0 {
				t.Fatalf("ParseHosts: empty entry %q → %v", name, addrs)
			}
			for _, a := range addrs {
				if a.Is4In6() {
					t.Fatalf("ParseHosts: mapped address %v", a)
				}
			}
		}
	})
}

func FuzzServerList(f *testing.F) {
	f.Add("a:1,b:2", "none")
	f.Add("", "NONE, x")
	f.Fuzz(func(t *testing.T, flag, env string) {
		var flags []string
		if flag != "" {
			flags = []string{flag}
		}
		got, err := ServerList(flags, env, []string{"d"}, false)
		if err != nil {
			return
		}
		for _, s := range got {
			if s == "" || s == "none" {
				t.Fatalf("ServerList(%q, %q) = %q", flag, env, got)
			}
		}
	})
}
