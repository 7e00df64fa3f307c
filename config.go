package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sockcat/sockcat/ioutil"
	"github.com/sockcat/sockcat/modes"
	"github.com/urfave/cli/v2"
)

// flagReader reads typed option values from the parsed flags and collects
// every problem found; the first one is reported.
type flagReader struct {
	c    *cli.Context
	errs []error
}

func (r *flagReader) fail(err error) { r.errs = append(r.errs, err) }

// size reads a SIZE option (1 to 1G; 0 when unset).
func (r *flagReader) size(name string) int {
	if !r.c.IsSet(name) {
		return 0
	}
	n, err := ioutil.ParseSize(r.c.String(name))
	if err == nil && (n < 1 || n > 1<<30) {
		err = fmt.Errorf("invalid size %q (want 1 to 1G)", r.c.String(name))
	}
	if err != nil {
		r.fail(fmt.Errorf("--%s: %w", name, err))
	}
	return int(n)
}

// dur reads a DUR option; def when unset.
func (r *flagReader) dur(name string, def time.Duration) time.Duration {
	if !r.c.IsSet(name) {
		return def
	}
	d, err := ioutil.ParseDuration(r.c.String(name))
	if err != nil {
		r.fail(fmt.Errorf("--%s: %w", name, err))
	}
	return d
}

// intIn reads an integer option in [lo, hi]; def when unset.
func (r *flagReader) intIn(name string, lo, hi, def int) int {
	if !r.c.IsSet(name) {
		return def
	}
	v := r.c.String(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(fmt.Errorf("--%s: invalid value %q (want an integer %d-%d)", name, v, lo, hi))
	}
	return n
}

// configFromFlags turns the parsed flags and positional arguments into a
// validated configuration. It opens no socket.
func configFromFlags(c *cli.Context) (*modes.Config, error) {
	cfg := &modes.Config{
		Listen:   c.Bool("listen"),
		UDP:      c.Bool("udp"),
		Unix:     c.Bool("unix"),
		Scan:     c.Bool("scan"),
		Verbose:  c.Bool("verbose"),
		AddrFile: c.String("addr-file"),
	}
	r := &flagReader{c: c}
	netOptions(r, cfg)
	streamOptions(r, cfg)
	serveOptions(r, cfg)
	viewOptions(r, cfg)
	scanOptions(r, cfg)
	tlsOptions(r, cfg)
	ncatTLSOptions(r, cfg)
	proxyOptions(r, cfg)
	cfg.MapPort, r.errs = mapPortConfig(c, os.Getenv, r.errs)
	if len(r.errs) > 0 {
		return nil, r.errs[0] // one line: the first problem found
	}
	var err error
	if cfg.P2P, err = p2pConfig(c, os.Getenv); err != nil {
		return nil, err
	}
	if !cfg.P2P.Enabled {
		if err := positionals(c, cfg); err != nil {
			return nil, err
		}
	}
	if err := checkHost(cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// netOptions reads the address and socket options (SPEC §6).
func netOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	switch {
	case c.Bool("ipv4") && c.Bool("ipv6"):
		r.fail(errors.New("-4 and -6 are mutually exclusive"))
	case c.Bool("ipv4"):
		cfg.Net.Family = modes.Family4
	case c.Bool("ipv6"):
		cfg.Net.Family = modes.Family6
	}
	cfg.Net.Numeric = c.Bool("numeric")
	cfg.Net.Source = c.String("source")
	cfg.Net.BufferSize = r.size("buffer-size")
	cfg.Net.SndBuf = r.size("sndbuf")
	cfg.Net.RcvBuf = r.size("rcvbuf")
	cfg.Net.Keepalive = c.Bool("keepalive")
	cfg.Net.NoDelay = c.Bool("nodelay")
	cfg.Net.Broadcast = c.Bool("broadcast")
	cfg.Net.Join = c.StringSlice("join")
	cfg.Net.TTL = r.intIn("ttl", 1, 255, 0)
	cfg.Net.Timeout = r.dur("wait", 0)
	cfg.Net.Retry = r.intIn("retry", 0, 1000000, 0)
	cfg.Net.RetryDelay = r.dur("retry-delay", time.Second)
}

// streamOptions reads the stream options (SPEC §3).
func streamOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	cfg.Stream.QuitAfter = r.dur("quit-after", -1)
	cfg.Stream.NoShutdown = c.Bool("no-shutdown")
	cfg.Stream.SendOnly = c.Bool("send-only")
	cfg.Stream.RecvOnly = c.Bool("recv-only")
	cfg.Stream.IdleTimeout = r.dur("idle-timeout", 0)
	cfg.Stream.CRLF = c.Bool("crlf")
	cfg.Stream.Delay = r.dur("delay", 0)
	cfg.Stream.Lines = c.Bool("lines")
}

// serveOptions reads the listen-side options (SPEC §5).
func serveOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	cfg.Serve.KeepOpen = c.Bool("keep-open")
	cfg.Serve.MaxConns = r.intIn("max-conns", 1, 1000000, modes.DefaultMaxConns)
	cfg.Serve.Broker = c.Bool("broker")
	cfg.Serve.Chat = c.Bool("chat")
	cfg.Serve.Exec = c.String("exec")
	cfg.Serve.ShExec = c.String("sh-exec")
	cfg.Serve.Allow = c.StringSlice("allow")
	cfg.Serve.Deny = c.StringSlice("deny")
	cfg.Serve.AllowFile = c.String("allow-file")
	cfg.Serve.DenyFile = c.String("deny-file")
	cfg.Forward = c.String("forward")
	if c.IsSet("forward") && strings.TrimSpace(cfg.Forward) == "" {
		r.fail(errors.New("--forward: empty target"))
	}
	if c.IsSet("exec") && strings.TrimSpace(cfg.Serve.Exec) == "" {
		r.fail(errors.New("--exec: empty command"))
	}
	if c.IsSet("sh-exec") && strings.TrimSpace(cfg.Serve.ShExec) == "" {
		r.fail(errors.New("--sh-exec: empty command"))
	}
}

// viewOptions reads the data views and statistics options (SPEC §7, §10).
func viewOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	cfg.Views.Encoding = strings.ToLower(c.String("encoding"))
	cfg.Views.EncodingErrors = strings.ToLower(c.String("encoding-errors"))
	cfg.Views.Hexdump = c.String("hexdump")
	cfg.Views.Output = c.String("output")
	cfg.Views.AppendOutput = c.Bool("append-output")
	cfg.Views.Progress = c.Bool("progress")
	cfg.Views.StatsJSON = c.Bool("stats-json")
	cfg.Views.SHA256 = c.Bool("sha256")
	if hx := cfg.Views.Hexdump; looksLikeHostPort(hx) {
		r.fail(fmt.Errorf("-x %s looks like a proxy address (OpenBSD nc's -x), but sockcat's -x writes a hexdump to FILE: for a proxy use -X socks5://%s or -X http://%s; for a file write ./%s", hx, hx, hx, hx))
	}
	if cfg.Views.AppendOutput && cfg.Views.Output == "" {
		r.fail(errors.New("--append-output needs -o FILE"))
	}
}

// ncatTLSOptions reads ncat's spellings of the TLS options. Each implies
// --ssl, as in ncat; giving both spellings of one option is a usage error.
func ncatTLSOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	for _, o := range []struct {
		ncat, ours string
		field      *string
	}{
		{"ssl-cert", "tls-cert", &cfg.TLS.CertFile},
		{"ssl-key", "tls-key", &cfg.TLS.KeyFile},
		{"ssl-trustfile", "tls-ca", &cfg.TLS.CAFile},
	} {
		if !c.IsSet(o.ncat) {
			continue
		}
		if c.IsSet(o.ours) {
			r.fail(fmt.Errorf("--%s and --%s are the same option; give one", o.ncat, o.ours))
			return
		}
		*o.field = c.String(o.ncat)
		cfg.TLS.Enabled = true
	}
	if c.Bool("ssl-verify") {
		if cfg.TLS.Insecure {
			r.fail(errors.New("--ssl-verify and --tls-insecure contradict each other"))
			return
		}
		cfg.TLS.Enabled = true // verification is the default with --tls
	}
}

// proxyOptions reads -X/--proxy: a URL, or ncat's HOST:PORT with
// --proxy-type and --proxy-auth USER:PASS. HOST:PORT alone is refused:
// ncat would take it as http, OpenBSD nc as socks5, so neither guess is safe.
func proxyOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	p, typ, auth := c.String("proxy"), c.String("proxy-type"), c.String("proxy-auth")
	if p == "" {
		for _, f := range []string{"proxy-type", "proxy-auth"} {
			if c.IsSet(f) {
				r.fail(fmt.Errorf("--%s needs --proxy HOST:PORT", f))
				return
			}
		}
		return
	}
	if typ != "" {
		typ = strings.ToLower(typ)
		if typ != "http" && typ != "socks5" {
			r.fail(fmt.Errorf("--proxy-type %q: want socks5 or http", c.String("proxy-type")))
			return
		}
	}
	scheme, _, hasScheme := strings.Cut(p, "://")
	switch {
	case !hasScheme && typ == "":
		r.fail(fmt.Errorf("-X/--proxy %s: no scheme; add --proxy-type http (ncat's default) or --proxy-type socks5, or write http://%s", p, p))
		return
	case !hasScheme:
		p = typ + "://" + p
	case typ != "" && !strings.HasPrefix(strings.ToLower(scheme), typ):
		r.fail(fmt.Errorf("--proxy-type %s contradicts the %s:// proxy URL", typ, scheme))
		return
	}
	if auth != "" {
		scheme, rest, _ := strings.Cut(p, "://")
		if strings.Contains(rest, "@") {
			r.fail(errors.New("--proxy-auth given, but the proxy URL has a user already"))
			return
		}
		user, pass, _ := strings.Cut(auth, ":")
		p = scheme + "://" + url.UserPassword(user, pass).String() + "@" + rest
	}
	cfg.Proxy = p
}

// looksLikeHostPort reports whether a -x FILE is written as HOST:PORT
// ("127.0.0.1:3128", "proxy:8080", "[::1]:1080"); a path ("./a:1") is not.
func looksLikeHostPort(v string) bool {
	if strings.Contains(v, "/") {
		return false
	}
	h, p, err := net.SplitHostPort(v)
	if err != nil || h == "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// scanOptions reads the -z options (SPEC §8).
func scanOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	cfg.ScanOp.Concurrency = r.intIn("concurrency", 1, 65535, modes.DefaultConcurrency)
	cfg.ScanOp.JSON = c.Bool("json")
	cfg.ScanOp.WaitFor = r.dur("wait-for", 0)
	if cfg.ScanOp.JSON && !cfg.Scan {
		r.fail(errors.New("--json needs -z (or use it with resolve)"))
	}
}

// tlsOptions reads the TLS options (SPEC §9).
func tlsOptions(r *flagReader, cfg *modes.Config) {
	c := r.c
	cfg.TLS = modes.TLSOptions{
		Enabled:      c.Bool("tls") || c.Bool("ssl-verify") || c.IsSet("ssl-cert") || c.IsSet("ssl-key") || c.IsSet("ssl-trustfile"),
		Insecure:     c.Bool("tls-insecure"),
		CAFile:       c.String("tls-ca"),
		ServerName:   c.String("tls-servername"),
		CertFile:     c.String("tls-cert"),
		KeyFile:      c.String("tls-key"),
		Pin:          c.String("tls-pin"),
		VerifyClient: c.Bool("tls-verify-client"),
	}
	if a := c.String("tls-alpn"); a != "" {
		for _, p := range strings.Split(a, ",") {
			if p = strings.TrimSpace(p); p != "" {
				cfg.TLS.ALPN = append(cfg.TLS.ALPN, p)
			}
		}
	}
	if !cfg.TLS.Enabled {
		for _, f := range []string{"tls-insecure", "tls-ca", "tls-servername", "tls-alpn", "tls-cert", "tls-key", "tls-pin", "tls-verify-client"} {
			if c.IsSet(f) {
				r.fail(fmt.Errorf("--%s needs --tls", f))
				break
			}
		}
	}
}

// checkHost rejects, before any socket exists, what -4, -6 and -n make
// impossible: an address literal of the other family, or a name with -n.
func checkHost(cfg *modes.Config) error {
	if cfg.Unix {
		return nil
	}
	for _, h := range []struct{ what, v string }{{"host", cfg.Host}, {"source address", cfg.Net.Source}} {
		if h.v == "" {
			continue
		}
		a, err := netip.ParseAddr(h.v)
		if err != nil {
			if cfg.Net.Numeric || h.what == "source address" {
				if h.what == "source address" {
					return fmt.Errorf("source address %q is not an IP address (-s takes a numeric address)", h.v)
				}
				return fmt.Errorf("%s %q is not a numeric IP address (-n given; no DNS lookups)", h.what, h.v)
			}
			continue
		}
		a = a.Unmap()
		if cfg.Net.Family == modes.Family4 && !a.Is4() {
			return fmt.Errorf("%s %s is not an IPv4 address (-4 given)", h.what, h.v)
		}
		if cfg.Net.Family == modes.Family6 && !a.Is6() {
			return fmt.Errorf("%s %s is not an IPv6 address (-6 given)", h.what, h.v)
		}
	}
	return nil
}

// positionals reads HOST, PORT, PORTSPEC or PATH according to the mode.
func positionals(c *cli.Context, cfg *modes.Config) error {
	a := posArgs{args: c.Args().Slice(), proto: "tcp", port: c.String("port"), portSet: c.IsSet("port")}
	if cfg.UDP {
		a.proto = "udp"
	}
	var err error
	switch {
	case cfg.Unix:
		err = a.unix(cfg)
	case cfg.Scan:
		err = a.scan(cfg)
	case cfg.Listen:
		err = a.listen(cfg)
	default:
		err = a.connect(cfg)
	}
	if err != nil || cfg.Unix {
		return err
	}
	if cfg.Host, err = unbracket("host", cfg.Host); err != nil {
		return err
	}
	cfg.Net.Source, err = unbracket("source address", cfg.Net.Source)
	return err
}

// posArgs are the positional arguments and -p, read per mode.
type posArgs struct {
	args    []string
	proto   string // "tcp" or "udp", for service names
	port    string // -p as given
	portSet bool
}

func (a posArgs) tooMany(want string) error {
	return fmt.Errorf("unexpected argument %q (usage: %s)", a.args[len(a.args)-1], want)
}

func (a posArgs) unix(cfg *modes.Config) error {
	switch {
	case len(a.args) == 0:
		return errors.New("missing PATH (usage: sockcat -U [options] PATH)")
	case len(a.args) > 1:
		return a.tooMany("sockcat -U [options] PATH")
	case a.portSet:
		return errors.New("-p cannot be combined with -U")
	}
	cfg.Host = a.args[0]
	return nil
}

func (a posArgs) scan(cfg *modes.Config) error {
	switch {
	case len(a.args) < 2:
		return errors.New("missing HOST or PORTSPEC (usage: sockcat -z [options] HOST PORTSPEC)")
	case len(a.args) > 2:
		return a.tooMany("sockcat -z [options] HOST PORTSPEC")
	}
	ports, err := modes.ParsePortSpec(a.args[1], a.proto)
	if err != nil {
		return err
	}
	cfg.Host, cfg.Ports = a.args[0], ports
	if a.portSet {
		p, err := modes.ParsePort(a.port, a.proto, false)
		if err != nil {
			return fmt.Errorf("-p: %w", err)
		}
		cfg.Net.SourcePort = p
	}
	return nil
}

// listen reads [HOST] PORT or -p PORT [HOST]. -s is the bind address too
// (SPEC §5): it becomes HOST, and a different HOST is a usage error.
func (a posArgs) listen(cfg *modes.Config) error {
	var host, port string
	args := a.args
	switch {
	case len(args) == 0 && a.portSet:
		port = a.port
	case len(args) == 1 && a.portSet && isNumber(args[0]):
		return fmt.Errorf("port given twice: -p %s and %q", a.port, args[0])
	case len(args) == 1 && a.portSet:
		host, port = args[0], a.port
	case len(args) == 1:
		port = args[0]
	case len(args) == 2 && !a.portSet:
		host, port = args[0], args[1]
	case len(args) == 0:
		return errors.New("listen needs a PORT (usage: sockcat -l [options] [HOST] PORT, or -l -p PORT)")
	case len(args) == 2:
		return fmt.Errorf("port given twice: -p %s and %q", a.port, args[1])
	default:
		return a.tooMany("sockcat -l [options] [HOST] PORT")
	}
	p, err := modes.ParsePort(port, a.proto, true)
	if err != nil {
		return err
	}
	if src := cfg.Net.Source; src != "" {
		if host != "" && !sameHost(host, src) {
			return fmt.Errorf("two bind addresses: -s %s and HOST %s (give one)", src, host)
		}
		host = src
	}
	cfg.Host, cfg.Port = host, p
	return nil
}

func (a posArgs) connect(cfg *modes.Config) error {
	switch {
	case len(a.args) < 2:
		return errors.New("missing HOST or PORT (usage: sockcat [options] HOST PORT; see --help)")
	case len(a.args) > 2:
		return a.tooMany("sockcat [options] HOST PORT")
	}
	p, err := modes.ParsePort(a.args[1], a.proto, false)
	if err != nil {
		return err
	}
	cfg.Host, cfg.Port = a.args[0], p
	if a.portSet {
		sp, err := modes.ParsePort(a.port, a.proto, false)
		if err != nil {
			return fmt.Errorf("-p (source port): %w", err)
		}
		cfg.Net.SourcePort = sp
	}
	return nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil
}

// sameHost reports whether two spellings name the same host: equal
// addresses ("::1", "[::1]", "0:0::1") or equal names.
func sameHost(a, b string) bool {
	a, _ = unbracket("", a)
	b, _ = unbracket("", b)
	x, errA := netip.ParseAddr(a)
	y, errB := netip.ParseAddr(b)
	if errA == nil && errB == nil {
		return x.Unmap() == y.Unmap()
	}
	return strings.EqualFold(a, b)
}

// unbracket accepts an IPv6 address in brackets ("[::1]", as --addr-file
// writes it) wherever an address is, and returns it without them.
func unbracket(what, h string) (string, error) {
	if !strings.HasPrefix(h, "[") && !strings.HasSuffix(h, "]") {
		return h, nil
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	a, err := netip.ParseAddr(inner)
	if len(inner) != len(h)-2 || err != nil || !a.Is6() {
		return h, fmt.Errorf("%s %q: brackets hold an IPv6 address, as in [::1]", what, h)
	}
	return inner, nil
}
