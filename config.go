package main

import (
	"errors"
	"fmt"
	"net/netip"
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
		Proxy:    c.String("proxy"),
	}
	r := &flagReader{c: c}
	netOptions(r, cfg)
	streamOptions(r, cfg)
	serveOptions(r, cfg)
	viewOptions(r, cfg)
	scanOptions(r, cfg)
	tlsOptions(r, cfg)
	if len(r.errs) > 0 {
		return nil, r.errs[0] // one line: the first problem found
	}
	if err := positionals(c, cfg); err != nil {
		return nil, err
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
	if cfg.Views.AppendOutput && cfg.Views.Output == "" {
		r.fail(errors.New("--append-output needs -o FILE"))
	}
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
		Enabled:      c.Bool("tls"),
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
	args := c.Args().Slice()
	proto := "tcp"
	if cfg.UDP {
		proto = "udp"
	}
	portFlag, portSet := c.String("port"), c.IsSet("port")
	tooMany := func(want string) error {
		return fmt.Errorf("unexpected argument %q (usage: %s)", args[len(args)-1], want)
	}
	switch {
	case cfg.Unix:
		if len(args) != 1 {
			if len(args) == 0 {
				return errors.New("missing PATH (usage: sockcat -U [options] PATH)")
			}
			return tooMany("sockcat -U [options] PATH")
		}
		if portSet {
			return errors.New("-p cannot be combined with -U")
		}
		cfg.Host = args[0]
		return nil
	case cfg.Scan:
		if len(args) != 2 {
			if len(args) < 2 {
				return errors.New("missing HOST or PORTSPEC (usage: sockcat -z [options] HOST PORTSPEC)")
			}
			return tooMany("sockcat -z [options] HOST PORTSPEC")
		}
		ports, err := modes.ParsePortSpec(args[1], proto)
		if err != nil {
			return err
		}
		cfg.Host, cfg.Ports = args[0], ports
		if portSet {
			p, err := modes.ParsePort(portFlag, proto, false)
			if err != nil {
				return fmt.Errorf("-p: %w", err)
			}
			cfg.Net.SourcePort = p
		}
		return nil
	case cfg.Listen:
		var host, port string
		switch {
		case len(args) == 0 && portSet:
			port = portFlag
		case len(args) == 1 && portSet:
			host, port = args[0], portFlag
		case len(args) == 1:
			port = args[0]
		case len(args) == 2 && !portSet:
			host, port = args[0], args[1]
		case len(args) == 0:
			return errors.New("listen needs a PORT (usage: sockcat -l [options] [HOST] PORT, or -l -p PORT)")
		case len(args) == 2:
			return fmt.Errorf("port given twice: -p %s and %q", portFlag, args[1])
		default:
			return tooMany("sockcat -l [options] [HOST] PORT")
		}
		p, err := modes.ParsePort(port, proto, true)
		if err != nil {
			return err
		}
		cfg.Host, cfg.Port = host, p
		return nil
	}
	if len(args) != 2 {
		if len(args) < 2 {
			return errors.New("missing HOST or PORT (usage: sockcat [options] HOST PORT; see --help)")
		}
		return tooMany("sockcat [options] HOST PORT")
	}
	p, err := modes.ParsePort(args[1], proto, false)
	if err != nil {
		return err
	}
	cfg.Host, cfg.Port = args[0], p
	if portSet {
		sp, err := modes.ParsePort(portFlag, proto, false)
		if err != nil {
			return fmt.Errorf("-p (source port): %w", err)
		}
		cfg.Net.SourcePort = sp
	}
	return nil
}
