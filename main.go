// Command sockcat pipes standard input and output to TCP, UDP and Unix
// sockets, in connect or listen mode, and scans ports and explains local and
// public addresses. See README.md for usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/sockcat/sockcat/ioutil"
	"github.com/sockcat/sockcat/modes"
	"github.com/urfave/cli/v2"
)

const (
	exitOK          = 0   // success
	exitFailure     = 1   // runtime failure; -z found no open port
	exitUsage       = 2   // bad flags or arguments, found before any socket exists
	exitInterrupted = 130 // SIGINT/SIGTERM (128 + SIGINT, as shells report it)
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

func main() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) }

// run is main without the process: tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Catch SIGPIPE so a write to a closed stdout returns EPIPE (handled as a
	// quiet end) instead of killing the process; a caught signal, unlike an
	// ignored one, is reset to the default in programs started by -e/-c.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	app := newApp(modes.Stdio{In: stdin, Out: stdout, Err: stderr}, ttyOf(stdin), ttyOf(stderr))
	if n := len(args); n >= 2 && args[n-1] == "--generate-bash-completion" {
		complete(app, args[1:n-1], stdout)
		return exitOK
	}
	err := app.RunContext(ctx, normalizeArgs(app, args))
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted // the user asked for it; -v already printed the summary
	case errors.Is(err, errQuietFailure):
		return exitFailure
	}
	fmt.Fprintf(stderr, "sockcat: %v\n", err)
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFailure
}

// errQuietFailure ends with exit status 1 and no message: the mode has said
// everything already (-z with no open port prints its results instead).
var errQuietFailure = modes.ErrNoOpenPorts

// usageError marks a mistake the user fixes by changing the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func ttyOf(f any) bool {
	if f, ok := f.(*os.File); ok {
		return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	return false
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func newApp(stdio modes.Stdio, stdinTTY, stderrTTY bool) *cli.App {
	usage := func(_ *cli.Context, err error, _ bool) error { return usageError{err} }
	app := &cli.App{
		Name:  "sockcat",
		Usage: "pipe stdin/stdout to TCP, UDP and Unix sockets",
		UsageText: "sockcat [options] HOST PORT                 connect\n" +
			"sockcat -l [options] [HOST] PORT            listen (also: -l -p PORT)\n" +
			"sockcat -z [options] HOST PORTSPEC          scan ports\n" +
			"sockcat -U [options] PATH / -l -U PATH      Unix-domain socket\n" +
			"sockcat resolve [options] [NAME[:PORT] ...] local, outbound and public addresses; name lookup",
		Description: "Exit status: 0 success; 1 runtime failure (refused, timeout, reset, DNS, TLS,\n" +
			"I/O, unsent input; -z: no open port); 2 usage error; 130 interrupted.",
		Flags:                  rootFlags(),
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		EnableBashCompletion:   true,
		Reader:                 stdio.In,
		Writer:                 stdio.Out,
		ErrWriter:              stdio.Err,
		OnUsageError:           usage,
		ExitErrHandler:         func(*cli.Context, error) {}, // run owns the exit status
		Commands:               []*cli.Command{resolveCommand(stdio, usage)},
	}
	app.Action = func(c *cli.Context) error {
		switch {
		case c.Bool("version"):
			fmt.Fprintf(stdio.Out, "sockcat %s\n", versionString())
			return nil
		case c.Bool("man"):
			man, err := app.ToManWithSection(1)
			if err != nil {
				return err
			}
			fmt.Fprint(stdio.Out, man)
			return nil
		case c.String("encoding") == "list":
			return modes.ListEncodings(stdio.Out)
		}
		cfg, err := configFromFlags(c)
		if err != nil {
			return usageError{err}
		}
		cfg.StdinTTY, cfg.StderrTTY = stdinTTY, stderrTTY
		return modes.Run(c.Context, cfg, stdio)
	}
	return app
}

// rootFlags defines every option of the connect, listen and scan modes.
// Numbers, sizes and durations are read as strings and parsed by
// configFromFlags, so a bad value gets a message naming it and what is
// accepted.
func rootFlags() []cli.Flag {
	const (
		catMode    = "Mode"
		catAddr    = "Addresses and sockets"
		catStream  = "Streams"
		catListen  = "Listening"
		catData    = "Data views and statistics"
		catScan    = "Port scan"
		catTLS     = "TLS and proxies"
		catGeneral = "General"
	)
	b := func(name string, aliases []string, cat, usage string) cli.Flag {
		return boolFlag{&cli.BoolFlag{Name: name, Aliases: aliases, Category: cat, Usage: usage}, names(name, aliases)}
	}
	s := func(name string, aliases []string, cat, usage string) cli.Flag {
		return stringFlag{&cli.StringFlag{Name: name, Aliases: aliases, Category: cat, Usage: usage}, names(name, aliases)}
	}
	ss := func(name string, aliases []string, cat, usage string) cli.Flag {
		return sliceFlag{&cli.StringSliceFlag{Name: name, Aliases: aliases, Category: cat, Usage: usage}, names(name, aliases)}
	}
	return []cli.Flag{
		b("listen", []string{"l"}, catMode, "listen for connections instead of connecting"),
		b("udp", []string{"u"}, catMode, "use UDP (datagrams) instead of TCP"),
		b("unix", []string{"U"}, catMode, "use a Unix-domain socket at PATH"),
		b("scan", []string{"z"}, catMode, "scan HOST's PORTSPEC and report open ports"),

		b("ipv4", []string{"4"}, catAddr, "IPv4 only"),
		b("ipv6", []string{"6"}, catAddr, "IPv6 only"),
		b("numeric", []string{"n"}, catAddr, "numeric addresses only: no DNS lookups"),
		s("source", []string{"s"}, catAddr, "local source `ADDR` for connections"),
		s("port", []string{"p"}, catAddr, "`PORT`: source port when connecting, listen port with -l"),
		s("wait", []string{"w"}, catAddr, "connect timeout `DUR` per address (and per port with -z)"),
		s("buffer-size", []string{"B"}, catAddr, "read buffer and largest UDP datagram `SIZE` (default 64K)"),
		s("sndbuf", nil, catAddr, "kernel send buffer `SIZE` (SO_SNDBUF)"),
		s("rcvbuf", nil, catAddr, "kernel receive buffer `SIZE` (SO_RCVBUF)"),
		b("keepalive", nil, catAddr, "enable TCP keepalive probes"),
		b("nodelay", nil, catAddr, "disable Nagle's algorithm (TCP_NODELAY)"),
		b("broadcast", []string{"b"}, catAddr, "allow sending UDP to broadcast addresses"),
		ss("join", nil, catAddr, "join multicast `GROUP[%IFACE]` when listening on UDP (repeatable)"),
		s("ttl", nil, catAddr, "IP TTL / IPv6 hop limit `N` of what is sent"),
		s("retry", nil, catAddr, "retry a refused or timed-out connect `N` times"),
		s("retry-delay", nil, catAddr, "pause `DUR` between connect attempts (default 1s)"),

		s("quit-after", []string{"q"}, catStream, "after stdin EOF, exit after `DUR` even if the peer has not closed"),
		b("N", nil, catStream, "accepted for OpenBSD nc compatibility: sockcat always shuts down the write side at stdin EOF"),
		b("no-shutdown", nil, catStream, "keep the write side open at stdin EOF (no FIN)"),
		b("send-only", nil, catStream, "only send stdin; ignore received data"),
		b("recv-only", []string{"d"}, catStream, "only receive; never read stdin"),
		s("idle-timeout", []string{"i"}, catStream, "close when nothing moved either way for `DUR`"),
		b("crlf", []string{"C"}, catStream, "send LF line endings as CRLF"),
		s("delay", nil, catStream, "pause `DUR` between lines sent"),
		b("lines", nil, catStream, "UDP: send each line as one datagram"),

		b("keep-open", []string{"k"}, catListen, "keep accepting clients; serve them concurrently"),
		s("max-conns", []string{"m"}, catListen, "at most `N` concurrent clients with -k (default 100)"),
		b("broker", nil, catListen, "relay every client's data to every other client"),
		b("chat", nil, catListen, "line-mode broker with user prefixes and join/leave lines"),
		s("exec", []string{"e"}, catListen, "run `PROG ARGS` (no shell) with the connection as its stdin/stdout"),
		s("sh-exec", []string{"c"}, catListen, "run `CMD` with /bin/sh -c, connection as stdin/stdout"),
		ss("allow", nil, catListen, "serve only clients matching `CIDR|HOST` (repeatable)"),
		ss("deny", nil, catListen, "refuse clients matching `CIDR|HOST` (repeatable; deny wins)"),
		s("allow-file", nil, catListen, "read --allow rules from `FILE`"),
		s("deny-file", nil, catListen, "read --deny rules from `FILE`"),
		s("addr-file", nil, catListen, "write the bound address to `FILE` once listening"),
		s("forward", nil, catListen, "relay each session to `HOST:PORT|[V6]:PORT|unix:PATH` instead of stdio"),

		s("encoding", nil, catData, "stdio representation `NAME`: raw, a charset, hex, base64 (list: --encoding list)"),
		s("encoding-errors", nil, catData, "unrepresentable characters: strict (error) or replace"),
		s("hexdump", []string{"x"}, catData, "log traffic both ways as a hexdump to `FILE` (- for stderr)"),
		s("output", []string{"o"}, catData, "also write received data to `FILE`"),
		b("append-output", nil, catData, "append to the -o file instead of truncating it"),
		b("progress", []string{"P"}, catData, "live progress meter on stderr (when it is a terminal)"),
		b("stats-json", nil, catData, "print one JSON object of transfer statistics on stderr at the end"),
		b("sha256", nil, catData, "print the SHA-256 of the bytes sent and received at the end"),

		s("concurrency", nil, catScan, "ports probed at once with -z (default 256)"),
		b("json", nil, catScan, "-z: one JSON object per port"),
		s("wait-for", nil, catScan, "-z: keep probing until every port is open or `DUR` passed"),

		b("tls", []string{"ssl"}, catTLS, "use TLS (verified against system roots by default)"),
		b("tls-insecure", nil, catTLS, "do not verify the server certificate"),
		s("tls-ca", nil, catTLS, "verify peers against the CA certificates in `FILE`"),
		s("tls-servername", nil, catTLS, "server `NAME` for SNI and verification (default: HOST)"),
		s("tls-alpn", nil, catTLS, "comma-separated ALPN protocol `LIST`"),
		s("tls-cert", nil, catTLS, "certificate `FILE` (PEM)"),
		s("tls-key", nil, catTLS, "private key `FILE` (PEM)"),
		s("tls-pin", nil, catTLS, "accept only the certificate with this SHA-256 `FINGERPRINT` (hex or base64)"),
		b("tls-verify-client", nil, catTLS, "listen: require a client certificate signed by --tls-ca"),
		s("proxy", []string{"X"}, catTLS, "connect through `URL`: socks5://[user:pass@]host:port or http://host:port"),

		b("verbose", []string{"v"}, catGeneral, "log connection events and a transfer summary on stderr"),
		b("version", nil, catGeneral, "print the version and exit"),
		&cli.BoolFlag{Name: "man", Hidden: true, Usage: "print the man page"},
	}
}

// The flag types below return a name list built once. urfave/cli v2 calls
// Names() for every flag each time it looks one up, and rebuilds the list
// with a regexp per name on each call; with this many flags that quadratic
// walk cost about 3 ms of every start (see scripts/BENCHMARKS.md).
type (
	boolFlag struct {
		*cli.BoolFlag
		names []string
	}
	stringFlag struct {
		*cli.StringFlag
		names []string
	}
	sliceFlag struct {
		*cli.StringSliceFlag
		names []string
	}
)

func (f boolFlag) Names() []string   { return f.names }
func (f stringFlag) Names() []string { return f.names }
func (f sliceFlag) Names() []string  { return f.names }

// String renders the help line; the default value is left out, as for a
// plain bool flag.
func (f boolFlag) String() string {
	f.BoolFlag.DisableDefaultText = true
	return cli.FlagStringer(f.BoolFlag)
}

func names(name string, aliases []string) []string { return append([]string{name}, aliases...) }

// takesValue reports whether a flag reads the next argument as its value.
func takesValue(f cli.Flag) bool {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return false
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
	var errs []error
	size := func(name string) int {
		if !c.IsSet(name) {
			return 0
		}
		n, err := ioutil.ParseSize(c.String(name))
		if err == nil && (n < 1 || n > 1<<30) {
			err = fmt.Errorf("invalid size %q (want 1 to 1G)", c.String(name))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", name, err))
		}
		return int(n)
	}
	dur := func(name string, def time.Duration) time.Duration {
		if !c.IsSet(name) {
			return def
		}
		d, err := ioutil.ParseDuration(c.String(name))
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: %w", name, err))
		}
		return d
	}
	intIn := func(name string, lo, hi, def int) int {
		if !c.IsSet(name) {
			return def
		}
		v := c.String(name)
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("--%s: invalid value %q (want an integer %d-%d)", name, v, lo, hi))
		}
		return n
	}

	switch {
	case c.Bool("ipv4") && c.Bool("ipv6"):
		errs = append(errs, errors.New("-4 and -6 are mutually exclusive"))
	case c.Bool("ipv4"):
		cfg.Net.Family = modes.Family4
	case c.Bool("ipv6"):
		cfg.Net.Family = modes.Family6
	}
	cfg.Net.Numeric = c.Bool("numeric")
	cfg.Net.Source = c.String("source")
	cfg.Net.BufferSize = size("buffer-size")
	cfg.Net.SndBuf = size("sndbuf")
	cfg.Net.RcvBuf = size("rcvbuf")
	cfg.Net.Keepalive = c.Bool("keepalive")
	cfg.Net.NoDelay = c.Bool("nodelay")
	cfg.Net.Broadcast = c.Bool("broadcast")
	cfg.Net.Join = c.StringSlice("join")
	cfg.Net.TTL = intIn("ttl", 1, 255, 0)
	cfg.Net.Timeout = dur("wait", 0)
	cfg.Net.Retry = intIn("retry", 0, 1000000, 0)
	cfg.Net.RetryDelay = dur("retry-delay", time.Second)

	cfg.Stream.QuitAfter = dur("quit-after", -1)
	cfg.Stream.NoShutdown = c.Bool("no-shutdown")
	cfg.Stream.SendOnly = c.Bool("send-only")
	cfg.Stream.RecvOnly = c.Bool("recv-only")
	cfg.Stream.IdleTimeout = dur("idle-timeout", 0)
	cfg.Stream.CRLF = c.Bool("crlf")
	cfg.Stream.Delay = dur("delay", 0)
	cfg.Stream.Lines = c.Bool("lines")

	cfg.Serve.KeepOpen = c.Bool("keep-open")
	cfg.Serve.MaxConns = intIn("max-conns", 1, 1000000, modes.DefaultMaxConns)
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
		errs = append(errs, errors.New("--forward: empty target"))
	}
	if c.IsSet("exec") && strings.TrimSpace(cfg.Serve.Exec) == "" {
		errs = append(errs, errors.New("--exec: empty command"))
	}
	if c.IsSet("sh-exec") && strings.TrimSpace(cfg.Serve.ShExec) == "" {
		errs = append(errs, errors.New("--sh-exec: empty command"))
	}

	cfg.Views.Encoding = strings.ToLower(c.String("encoding"))
	cfg.Views.EncodingErrors = strings.ToLower(c.String("encoding-errors"))
	cfg.Views.Hexdump = c.String("hexdump")
	cfg.Views.Output = c.String("output")
	cfg.Views.AppendOutput = c.Bool("append-output")
	cfg.Views.Progress = c.Bool("progress")
	cfg.Views.StatsJSON = c.Bool("stats-json")
	cfg.Views.SHA256 = c.Bool("sha256")
	if cfg.Views.AppendOutput && cfg.Views.Output == "" {
		errs = append(errs, errors.New("--append-output needs -o FILE"))
	}

	cfg.ScanOp.Concurrency = intIn("concurrency", 1, 65535, modes.DefaultConcurrency)
	cfg.ScanOp.JSON = c.Bool("json")
	cfg.ScanOp.WaitFor = dur("wait-for", 0)
	if cfg.ScanOp.JSON && !cfg.Scan {
		errs = append(errs, errors.New("--json needs -z (or use it with resolve)"))
	}

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
				errs = append(errs, fmt.Errorf("--%s needs --tls", f))
				break
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, firstLine(errs)
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

// firstLine keeps the error output to one line: the first problem found.
func firstLine(errs []error) error { return errs[0] }

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

// complete prints shell-completion candidates for the word being typed:
// the flags that start with it, or the commands. (urfave/cli's own
// completion panics when an earlier word is an unknown flag.)
func complete(app *cli.App, words []string, w io.Writer) {
	flags := app.Flags
	if len(words) > 0 && words[0] == "resolve" {
		flags = app.Commands[0].Flags
		words = words[1:]
	}
	last := ""
	if len(words) > 0 {
		last = words[len(words)-1]
	}
	if !strings.HasPrefix(last, "-") {
		for _, c := range app.Commands {
			fmt.Fprintln(w, c.Name)
		}
		return
	}
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		for _, n := range f.Names() {
			if len(n) > 1 && strings.HasPrefix("--"+n, last) {
				fmt.Fprintln(w, "--"+n)
			}
		}
	}
}

// normalizeArgs rewrites argv so urfave/cli sees every flag before the
// positional arguments, as netcat users type them: options may follow the
// positionals (`sockcat host 80 -v`), short flags bundle (`-lvnp 4444`,
// `-p4444`), and `--` ends the options. A command name ("resolve") as the
// first positional starts that command's own flag set.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	out := []string{args[0]}
	flags, pos, cmd, rest := splitArgs(app.Flags, args[1:], commandNames(app))
	out = append(out, flags...)
	if cmd != nil {
		out = append(out, cmd.Name)
		cflags, cpos, _, _ := splitArgs(cmd.Flags, rest, nil)
		out = append(out, cflags...)
		return appendPositionals(out, cpos)
	}
	return appendPositionals(out, pos)
}

func appendPositionals(out, pos []string) []string {
	for _, p := range pos {
		if strings.HasPrefix(p, "-") {
			out = append(out, "--")
			break
		}
	}
	return append(out, pos...)
}

func commandNames(app *cli.App) map[string]*cli.Command {
	m := map[string]*cli.Command{}
	for _, c := range app.Commands {
		m[c.Name] = c
		for _, a := range c.Aliases {
			m[a] = c
		}
	}
	return m
}

// splitArgs separates flags (with their values) from positionals. When the
// first positional is a command name, it stops and returns the command and
// the arguments after it.
func splitArgs(defs []cli.Flag, args []string, cmds map[string]*cli.Command) (flags, pos []string, cmd *cli.Command, rest []string) {
	takesVal := map[string]bool{}
	for _, f := range defs {
		v := takesValue(f)
		for _, n := range f.Names() {
			takesVal[n] = v
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(pos, args[i+1:]...), nil, nil
		case strings.HasPrefix(a, "--"):
			flags = append(flags, a)
			name := strings.TrimPrefix(a, "--")
			if !strings.Contains(name, "=") && takesVal[name] && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			name := a[1:]
			if len(name) > 1 && !strings.Contains(name, "=") {
				if _, known := takesVal[name]; known { // a long name given with one dash
					flags = append(flags, "--"+name)
					if takesVal[name] && i+1 < len(args) {
						i++
						flags = append(flags, args[i])
					}
					continue
				}
			}
			if strings.Contains(name, "=") { // -p=4444
				flags = append(flags, a)
				continue
			}
			// A bundle of short flags: -lvnp 4444, -p4444, -lu9090 is not split.
			for j, r := range name {
				f := string(r)
				flags = append(flags, "-"+f)
				if takesVal[f] {
					if rest := name[j+len(f):]; rest != "" {
						flags = append(flags, rest)
					} else if i+1 < len(args) {
						i++
						flags = append(flags, args[i])
					}
					break
				}
			}
		default:
			if len(pos) == 0 && cmds != nil {
				if c, ok := cmds[a]; ok {
					return flags, nil, c, args[i+1:]
				}
			}
			pos = append(pos, a)
		}
	}
	return flags, pos, nil, nil
}
