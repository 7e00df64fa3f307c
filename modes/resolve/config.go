// Package resolve implements `sockcat resolve`: which address to bind,
// which address LAN peers dial, which address internet peers dial (and
// whether they can reach this host at all), for IPv4 and IPv6 separately;
// and, given names, what they resolve to and in which order sockcat would
// dial them.
//
// [Run] gathers a [Report]; [Write] renders it as a table, as JSON
// (schema "sockcat.resolve/v1") or as the bare public addresses of --short.
// Rendering is pure, so it is tested with golden files.
//
// # Decisions where SPEC §11 is silent
//
//   - Sources that disagree make a "conflict": no address is printed (never
//     a guess), and --public/--short exit 1 as for "not found".
//   - Two answers agree independently when they come from different methods
//     or from servers with different IP addresses; two STUN servers on one
//     IP count once.
//   - An answer that is not a global address (loopback, private, cgnat,
//     documentation) is still reported and counts as a vote, but is flagged
//     "non_public" with a hint: the servers asked sit on a private network.
//   - Without --public/--short, a public address not found is not an error
//     (exit 0): the report says why.
//   - With NAME arguments only the names are shown, unless --local or
//     --public asks for more. --public alone hides the local table but still
//     probes the route, which the NAT verdict needs.
//   - -4 together with -6 is a usage error, as in netcat.
//   - The table hides interfaces that are down, loopback, or point-to-point
//     without a global address unless --all-interfaces; JSON always lists
//     every interface, with "hidden".
//   - --http-echo accepts http:// as well as https:// (a LAN echo service);
//     the defaults are all https.
//   - --dns-server asks that server directly (A, AAAA, PTR over UDP), so the
//     hosts file is bypassed; the system resolver is what a connect uses.
//   - SOCKCAT_NO_EXTERNAL=1 accepts only loopback IP literals and
//     "localhost" as servers, and name lookups without --dns-server read the
//     hosts file but send no query to a resolver off this host.
//   - A method starts at its stagger delay (STUN 0, DNS 300 ms, HTTPS
//     800 ms) or at once when every earlier method has finished without two
//     sources agreeing. Once two agree, discovery waits up to 300 ms more for
//     a second STUN answer, which tells the NAT mapping kind.
package resolve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sockcat/sockcat/modes/portmap"
	"github.com/sockcat/sockcat/modes/resolve/netinfo"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

// DefaultTimeout is the overall deadline of public-address discovery: long
// enough for four STUN retransmits (0, 250, 750, 1750 ms) and a slow HTTPS
// handshake, short enough for $(sockcat resolve --short) in a script.
const DefaultTimeout = 3 * time.Second

// Config is what `sockcat resolve` was asked to do. The zero value, with
// Timeout set, shows the local and public sections of both families with
// no public servers configured.
type Config struct {
	Only4, Only6  bool // restrict to one family; both false means both
	Local         bool // --local: show the local section (alone unless Public)
	Public        bool // --public: show the public section (alone unless Local)
	NoPublic      bool // --no-public: never send anything off-host
	Short         bool // --short: public addresses only, one a line
	JSON          bool // --json
	Verbose       bool // -v: every source in the table; reverse names
	AllInterfaces bool // also list down, loopback and tunnel-only interfaces

	Timeout   time.Duration     // public discovery deadline; must be > 0
	STUN      []string          // STUN servers, host:port
	Whoami    []publicip.Whoami // DNS whoami sources
	HTTPEcho  []string          // echo URLs
	DNSServer string            // host:port asked directly for names; empty: the system resolver
	// NoExternal refuses every server that is not on loopback and keeps
	// name lookups off the network unless DNSServer (on loopback) is set.
	NoExternal bool
	Names      []string // NAME[:PORT] arguments
	NoPortmap  bool     // --no-portmap: do not ask the gateway about NAT-PMP, PCP, UPnP

	// Hooks for tests; nil means the real thing.
	Lister      netinfo.Lister
	V6Flags     func() map[netip.Addr]netinfo.V6Flags
	RouteProbe  func(v6 bool) (netip.Addr, error)
	Hostname    func() (string, error)
	Now         func() time.Time
	Timing      publicip.Timing                           // zero: defaults
	Lookup      publicip.LookupFunc                       // server-name lookups; nil: net.DefaultResolver
	TLS         *tls.Config                               // HTTPS echo; nil: system roots
	HostsFile   string                                    // empty: /etc/hosts
	ProcVersion func() string                             // contents of /proc/version, to detect WSL
	Portmap     func(context.Context) portmap.ProbeResult // the gateway probe; nil: portmap.Probe
}

// ServerList picks the servers of one method: the flag values if any were
// given, else the comma list of the environment variable if set, else the
// defaults (none when noExternal). "none" anywhere disables the method and
// may not be combined with a server.
func ServerList(flagVals []string, env string, defaults []string, noExternal bool) ([]string, error) {
	var raw []string
	switch {
	case len(flagVals) > 0:
		for _, v := range flagVals {
			raw = append(raw, strings.Split(v, ",")...)
		}
	case strings.TrimSpace(env) != "":
		raw = strings.Split(env, ",")
	case noExternal:
		return nil, nil
	default:
		return append([]string(nil), defaults...), nil
	}
	var out []string
	none := false
	for _, v := range raw {
		v = strings.TrimSpace(v)
		switch {
		case v == "":
		case strings.EqualFold(v, "none"):
			none = true
		default:
			out = append(out, v)
		}
	}
	if none && len(out) > 0 {
		return nil, fmt.Errorf("%q cannot be combined with servers: %s", "none", strings.Join(out, ","))
	}
	return out, nil
}

// ErrExternal marks a server refused because SOCKCAT_NO_EXTERNAL=1.
var ErrExternal = errors.New("SOCKCAT_NO_EXTERNAL=1 allows only loopback servers")

// Validate checks the configuration before any socket is opened. Every
// error it returns is a usage error.
func (c *Config) Validate() error {
	if c.Only4 && c.Only6 {
		return errors.New("-4 and -6 cannot be used together")
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("bad timeout %s: want a positive duration", c.Timeout)
	}
	switch {
	case c.Public && c.NoPublic:
		return errors.New("--public and --no-public cannot be used together")
	case c.Short && c.JSON:
		return errors.New("--short and --json cannot be used together")
	case c.Short && c.NoPublic:
		return errors.New("--short needs public discovery: drop --no-public")
	case c.Short && c.Local:
		return errors.New("--short prints public addresses only: drop --local")
	case c.Short && len(c.Names) > 0:
		return errors.New("--short does not apply to name lookups")
	}
	for _, s := range c.STUN {
		if err := checkServer(s, false); err != nil {
			return fmt.Errorf("bad stun server: %w", err)
		}
	}
	for _, u := range c.HTTPEcho {
		if err := publicip.CheckEchoURL(u); err != nil {
			return err
		}
	}
	if c.DNSServer != "" {
		if err := checkServer(c.DNSServer, false); err != nil {
			return fmt.Errorf("bad --dns-server: %w", err)
		}
	}
	for _, n := range c.Names {
		if _, _, err := SplitName(n); err != nil {
			return err
		}
	}
	if !c.NoExternal {
		return nil
	}
	for _, s := range c.STUN {
		if !isLoopbackHost(hostOf(s)) {
			return fmt.Errorf("stun server %s: %w", s, ErrExternal)
		}
	}
	for _, w := range c.Whoami {
		if !isLoopbackHost(hostOf(w.Server)) {
			return fmt.Errorf("dns whoami server %s: %w", w, ErrExternal)
		}
	}
	for _, s := range c.HTTPEcho {
		u, _ := url.Parse(s)
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("http echo %s: %w", s, ErrExternal)
		}
	}
	if c.DNSServer != "" && !isLoopbackHost(hostOf(c.DNSServer)) {
		return fmt.Errorf("dns server %s: %w", c.DNSServer, ErrExternal)
	}
	return nil
}

// checkServer validates HOST:PORT (the port is required unless
// portOptional).
func checkServer(s string, portOptional bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if portOptional {
			return nil
		}
		return fmt.Errorf("%q: want HOST:PORT", s)
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return fmt.Errorf("%q: bad host", s)
	}
	if _, err := publicip.ParsePort(port); err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	return nil
}

// hostOf returns the host of host, host:port, [v6]:port or a bare IPv6
// literal.
func hostOf(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
}

// isLoopbackHost reports whether host is a loopback IP literal or
// "localhost". Other names are refused: resolving them would itself be a
// query to the outside.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// families returns the families to examine, IPv4 first.
func (c *Config) families() []bool {
	switch {
	case c.Only4:
		return []bool{false}
	case c.Only6:
		return []bool{true}
	}
	return []bool{false, true}
}

// Sections returns which parts of the report are shown: with names, only
// the names unless --local or --public asks for more; --short is public only.
func (c *Config) Sections() (local, public, names bool) {
	names = len(c.Names) > 0
	switch {
	case c.Short:
		return false, true, false
	case c.Local || c.Public:
		return c.Local, c.Public && !c.NoPublic, names
	case names:
		return false, false, true
	}
	return true, !c.NoPublic, false
}
