package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sockcat/sockcat/modes"
	"github.com/urfave/cli/v2"
)

// newApp builds the command-line application: the root flags, the resolve
// command and the action that turns flags into a mode run.
func newApp(stdio modes.Stdio, stdinTTY, stderrTTY bool) *cli.App {
	cli.HelpPrinter = printHelp
	usage := func(_ *cli.Context, err error, _ bool) error { return usageError{err} }
	app := &cli.App{
		Name:                   "sockcat",
		Usage:                  "pipe stdin/stdout to TCP, UDP and Unix sockets",
		Flags:                  rootFlags(),
		UseShortOptionHandling: true,
		HideHelpCommand:        true,
		EnableBashCompletion:   true,
		Reader:                 stdio.In,
		Writer:                 stdio.Out,
		ErrWriter:              stdio.Err,
		OnUsageError:           usage,
		ExitErrHandler:         func(*cli.Context, error) {}, // run owns the exit status
		Commands:               []*cli.Command{resolveCommand(stdio, usage), rendezvousCommand(stdio, usage)},
	}
	app.Action = func(c *cli.Context) error {
		switch {
		case c.Bool("version"):
			fmt.Fprintf(stdio.Out, "sockcat %s\n", versionString())
			return nil
		case c.Bool("man"):
			writeMan(stdio.Out, app)
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

// Flag categories, the headings of --help and the man page.
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

// rootFlags defines every option of the connect, listen and scan modes.
// Numbers, sizes and durations are read as strings and parsed by
// configFromFlags, so a bad value gets a message naming it and what is
// accepted.
func rootFlags() []cli.Flag {
	var all []cli.Flag
	for _, group := range [][]cli.Flag{modeFlags(), addrFlags(), streamFlags(), listenFlags(), viewFlags(), scanFlags(), tlsFlags(), generalFlags(), p2pFlags(), mapPortFlags()} {
		all = append(all, group...)
	}
	return all
}

// switchOpt, valueOpt and listOpt make a switch, an option with a value
// and a repeatable one.
func switchOpt(name string, aliases []string, cat, usage string) cli.Flag {
	return boolFlag{&cli.BoolFlag{Name: name, Aliases: aliases, Category: cat, Usage: usage}, names(name, aliases)}
}

func valueOpt(name string, aliases []string, cat, usage string) cli.Flag {
	return stringFlag{&cli.StringFlag{Name: name, Aliases: aliases, Category: cat, Usage: usage}, names(name, aliases)}
}

func listOpt(name string, aliases []string, cat, usage string) cli.Flag {
	return sliceFlag{&cli.StringSliceFlag{Name: name, Aliases: aliases, Category: cat, Usage: usage}, names(name, aliases)}
}

func modeFlags() []cli.Flag {
	return []cli.Flag{
		switchOpt("listen", []string{"l"}, catMode, "listen for connections instead of connecting"),
		switchOpt("udp", []string{"u"}, catMode, "use UDP (datagrams) instead of TCP"),
		switchOpt("unix", []string{"U"}, catMode, "use a Unix-domain socket at PATH"),
		switchOpt("scan", []string{"z"}, catMode, "scan HOST's PORTSPEC and report open ports"),
	}
}

func addrFlags() []cli.Flag {
	return []cli.Flag{
		switchOpt("ipv4", []string{"4"}, catAddr, "IPv4 only"),
		switchOpt("ipv6", []string{"6"}, catAddr, "IPv6 only"),
		switchOpt("numeric", []string{"n"}, catAddr, "numeric addresses only: no DNS lookups"),
		valueOpt("source", []string{"s"}, catAddr, "local source `ADDR` for connections; the bind address with -l"),
		valueOpt("port", []string{"p"}, catAddr, "source `PORT` when connecting; the listen port with -l"),
		valueOpt("wait", []string{"w"}, catAddr, "connect timeout `DUR` per address (and per port with -z)"),
		valueOpt("buffer-size", []string{"B"}, catAddr, "read buffer and largest UDP datagram `SIZE` (default 64K)"),
		valueOpt("sndbuf", nil, catAddr, "kernel send buffer `SIZE` (SO_SNDBUF)"),
		valueOpt("rcvbuf", nil, catAddr, "kernel receive buffer `SIZE` (SO_RCVBUF)"),
		switchOpt("keepalive", nil, catAddr, "enable TCP keepalive probes"),
		switchOpt("nodelay", nil, catAddr, "disable Nagle's algorithm (TCP_NODELAY)"),
		switchOpt("broadcast", []string{"b"}, catAddr, "allow sending UDP to broadcast addresses"),
		listOpt("join", nil, catAddr, "join multicast `GROUP[%IFACE]` when listening on UDP (repeatable)"),
		valueOpt("ttl", nil, catAddr, "IP TTL / IPv6 hop limit `N` of what is sent"),
		valueOpt("retry", nil, catAddr, "retry a refused or timed-out connect `N` times"),
		valueOpt("retry-delay", nil, catAddr, "pause `DUR` between connect attempts (default 1s)"),
	}
}

func streamFlags() []cli.Flag {
	return []cli.Flag{
		valueOpt("quit-after", []string{"q"}, catStream, "after stdin EOF, exit after `DUR` even if the peer has not closed"),
		switchOpt("N", nil, catStream, "accepted for OpenBSD nc: sockcat half-closes at stdin EOF anyway"),
		switchOpt("no-shutdown", nil, catStream, "keep the write side open at stdin EOF (no FIN)"),
		switchOpt("send-only", nil, catStream, "only send stdin; ignore received data"),
		switchOpt("recv-only", []string{"d"}, catStream, "only receive; never read stdin"),
		valueOpt("idle-timeout", []string{"i"}, catStream, "close when nothing moved either way for `DUR`"),
		switchOpt("crlf", []string{"C"}, catStream, "send LF line endings as CRLF"),
		valueOpt("delay", nil, catStream, "pause `DUR` between lines sent"),
		switchOpt("lines", nil, catStream, "UDP: send each line as one datagram"),
	}
}

func listenFlags() []cli.Flag {
	return []cli.Flag{
		switchOpt("keep-open", []string{"k"}, catListen, "keep accepting clients; serve them concurrently"),
		valueOpt("max-conns", []string{"m"}, catListen, "at most `N` concurrent clients with -k (default 100)"),
		switchOpt("broker", nil, catListen, "relay every client's data to every other client"),
		switchOpt("chat", nil, catListen, "line-mode broker with user prefixes and join/leave lines"),
		valueOpt("exec", []string{"e"}, catListen, "run `PROG ARGS` (no shell) with the connection as its stdin/stdout"),
		valueOpt("sh-exec", []string{"c"}, catListen, "run `CMD` with /bin/sh -c, connection as stdin/stdout"),
		listOpt("allow", nil, catListen, "serve only clients matching `CIDR|HOST` (repeatable)"),
		listOpt("deny", nil, catListen, "refuse clients matching `CIDR|HOST` (repeatable; deny wins)"),
		valueOpt("allow-file", nil, catListen, "read --allow rules from `FILE`"),
		valueOpt("deny-file", nil, catListen, "read --deny rules from `FILE`"),
		valueOpt("addr-file", nil, catListen, "write the bound address to `FILE` once listening"),
		valueOpt("forward", nil, catListen, "relay each session to `TARGET` (HOST:PORT, [V6]:PORT or unix:PATH) instead of stdio"),
	}
}

func viewFlags() []cli.Flag {
	return []cli.Flag{
		valueOpt("encoding", nil, catData, "stdio representation `NAME`: raw, a charset, hex, base64 (list: --encoding list)"),
		valueOpt("encoding-errors", nil, catData, "unrepresentable characters: `MODE` strict (error) or replace"),
		valueOpt("hexdump", []string{"x"}, catData, "log traffic both ways as a hexdump to `FILE` (- for stderr)"),
		valueOpt("output", []string{"o"}, catData, "also write received data to `FILE`"),
		switchOpt("append-output", nil, catData, "append to the -o file instead of truncating it"),
		switchOpt("progress", []string{"P"}, catData, "live progress meter on stderr (when it is a terminal)"),
		switchOpt("stats-json", nil, catData, "print one JSON object of transfer statistics on stderr at the end"),
		switchOpt("sha256", nil, catData, "print the SHA-256 of the bytes sent and received at the end"),
	}
}

func scanFlags() []cli.Flag {
	return []cli.Flag{
		valueOpt("concurrency", nil, catScan, "`N` ports probed at once with -z (default 256)"),
		switchOpt("json", nil, catScan, "-z: one JSON object per port"),
		valueOpt("wait-for", nil, catScan, "-z: keep probing until every port is open or `DUR` passed"),
	}
}

func tlsFlags() []cli.Flag {
	return []cli.Flag{
		switchOpt("tls", []string{"ssl"}, catTLS, "use TLS (verified against system roots by default)"),
		switchOpt("tls-insecure", nil, catTLS, "do not verify the server certificate"),
		valueOpt("tls-ca", nil, catTLS, "verify peers against the CA certificates in `FILE`"),
		valueOpt("tls-servername", nil, catTLS, "server `NAME` for SNI and verification (default HOST)"),
		valueOpt("tls-alpn", nil, catTLS, "comma-separated ALPN protocol `LIST`"),
		valueOpt("tls-cert", nil, catTLS, "certificate `FILE` (PEM)"),
		valueOpt("tls-key", nil, catTLS, "private key `FILE` (PEM)"),
		valueOpt("tls-pin", nil, catTLS, "accept only the certificate with this SHA-256 `FINGERPRINT` (hex or base64)"),
		switchOpt("tls-verify-client", nil, catTLS, "listen: require a client certificate signed by --tls-ca"),
		valueOpt("proxy", []string{"X"}, catTLS, "connect through proxy `URL` (socks5://[USER:PASS@]HOST:PORT, http://…)"),
		valueOpt("proxy-type", nil, catTLS, "`TYPE` of a --proxy HOST:PORT: http or socks5"),
		valueOpt("proxy-auth", nil, catTLS, "proxy credentials `USER:PASS`"),
		hidden(switchOpt("ssl-verify", nil, catTLS, "ncat: --tls, verifying the server (the default)")),
		hidden(valueOpt("ssl-cert", nil, catTLS, "ncat: --tls --tls-cert `FILE`")),
		hidden(valueOpt("ssl-key", nil, catTLS, "ncat: --tls --tls-key `FILE`")),
		hidden(valueOpt("ssl-trustfile", nil, catTLS, "ncat: --tls --tls-ca `FILE`")),
	}
}

func generalFlags() []cli.Flag {
	return []cli.Flag{
		switchOpt("verbose", []string{"v"}, catGeneral, "log connection events and a transfer summary on stderr"),
		switchOpt("version", nil, catGeneral, "print the version and exit"),
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

// hidden keeps a flag out of --help: ncat's spellings, listed once in the
// help text instead of one line each.
func hidden(f cli.Flag) cli.Flag {
	switch f := f.(type) {
	case boolFlag:
		f.Hidden = true
	case stringFlag:
		f.Hidden = true
	}
	return f
}

func names(name string, aliases []string) []string { return append([]string{name}, aliases...) }

// takesValue reports whether a flag reads the next argument as its value.
func takesValue(f cli.Flag) bool {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return false
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
