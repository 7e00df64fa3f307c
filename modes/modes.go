// Package modes holds sockcat's sockets and policy: one file per mode
// (connect, listen, udp, unix, broker, exec, scan, resolve) plus the shared
// dialing, socket-option and reporting code. A mode is a function of a
// validated [Config] and the process's [Stdio]; it never exits the process or
// touches os.Std* itself.
package modes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Stdio is the process's standard streams as a mode sees them.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Family restricts addresses to one IP family.
type Family int

// The families -4 and -6 select; FamilyAny accepts both.
const (
	FamilyAny Family = 0
	Family4   Family = 4
	Family6   Family = 6
)

// Defaults.
const (
	// DefaultBufferSize is the read buffer and the largest UDP datagram (-B).
	DefaultBufferSize = 64 << 10
	// DefaultUDPQuit is how long a UDP client keeps printing replies after
	// stdin EOF when -q is not given.
	DefaultUDPQuit = time.Second
	// DefaultScanTimeout is the per-port timeout of -z when -w is not given.
	DefaultScanTimeout = time.Second
	// DefaultMaxConns caps concurrent clients under -k (-m).
	DefaultMaxConns = 100
	// DefaultConcurrency is how many ports -z probes at once.
	DefaultConcurrency = 256
)

// Config is a fully parsed and validated command line. Each field's zero value
// is the default behaviour unless its comment says otherwise.
type Config struct {
	Listen bool // -l: accept instead of connect
	UDP    bool // -u: datagrams instead of a stream
	Unix   bool // -U: Host is a filesystem path
	Scan   bool // -z: port scan; Ports holds the PORTSPEC

	Host  string   // connect: the host; listen: the bind address ("" = any); -U: the path
	Port  int      // connect or listen port (listen: 0 = any free port)
	Ports []uint16 // -z: sorted, unique ports

	Verbose   bool   // -v: events and the summary on stderr
	AddrFile  string // --addr-file: write the bound address here once listening
	StdinTTY  bool   // stdin is a terminal (set by main)
	StderrTTY bool   // stderr is a terminal (set by main)

	Net    NetOptions
	Stream StreamOptions
	Serve  ServeOptions
	Views  ViewOptions
	ScanOp ScanOptions
	TLS    TLSOptions
	Proxy  string // -X: socks5://… or http://… ("" = direct)

	P2P     P2POptions     // --p2p (SPEC §15)
	MapPort MapPortOptions // --map-port (SPEC §14)

	// Forward (--forward) relays each session to this target instead of
	// stdio: HOST:PORT, [V6]:PORT or unix:PATH ("" = stdio) (SPEC §13).
	Forward string
}

// NetOptions are addressing and socket options (SPEC §6).
type NetOptions struct {
	Family     Family        // -4 / -6
	Numeric    bool          // -n: host must be an address literal; no DNS
	Source     string        // -s: local address to bind before connecting
	SourcePort int           // -p in connect mode: local port (0 = any)
	BufferSize int           // -B: read buffer and largest datagram; 0 means DefaultBufferSize
	SndBuf     int           // --sndbuf: SO_SNDBUF (0 = system default)
	RcvBuf     int           // --rcvbuf: SO_RCVBUF (0 = system default)
	Keepalive  bool          // --keepalive: TCP keepalive probes (off by default)
	NoDelay    bool          // --nodelay: disable Nagle's algorithm (on by default, as in nc)
	Broadcast  bool          // -b: SO_BROADCAST on UDP sockets
	Join       []string      // --join GROUP[%IFACE]: multicast groups for a UDP listener
	TTL        int           // --ttl: IP TTL / hop limit (0 = system default)
	Timeout    time.Duration // -w: connect timeout per address (0 = none; -z: DefaultScanTimeout)
	Retry      int           // --retry: extra connect attempts after a refusal or timeout
	RetryDelay time.Duration // --retry-delay: pause between attempts
}

// Buffer returns the effective buffer size.
func (n NetOptions) Buffer() int {
	if n.BufferSize > 0 {
		return n.BufferSize
	}
	return DefaultBufferSize
}

// StreamOptions are the stream semantics of SPEC §3.
type StreamOptions struct {
	QuitAfter   time.Duration // -q: exit this long after stdin EOF; < 0 means not set
	NoShutdown  bool          // --no-shutdown: keep the write half open at stdin EOF
	SendOnly    bool          // --send-only
	RecvOnly    bool          // --recv-only / -d
	IdleTimeout time.Duration // -i: close when nothing moved for this long (0 = never)
	CRLF        bool          // -C: LF → CRLF on the way out
	Delay       time.Duration // --delay: pause between lines sent (0 = none)
	Lines       bool          // --lines: UDP: one datagram per line
}

// ServeOptions are the listen-side modes of SPEC §5.
type ServeOptions struct {
	KeepOpen  bool     // -k: keep accepting, serve clients concurrently
	MaxConns  int      // -m: concurrent clients under -k (0 means DefaultMaxConns)
	Broker    bool     // --broker: relay every client's bytes to every other client
	Chat      bool     // --chat: line-mode broker with user prefixes
	Exec      string   // -e: program and arguments, split into words, no shell
	ShExec    string   // -c: command for /bin/sh -c
	Allow     []string // --allow: CIDR, address or host name (empty = everyone)
	Deny      []string // --deny: CIDR, address or host name
	AllowFile string   // --allow-file: one rule per line, # comments
	DenyFile  string   // --deny-file
}

// ViewOptions change how the stdio side represents the bytes (SPEC §7, §10).
type ViewOptions struct {
	Encoding       string // --encoding: "" or "raw" = untouched bytes
	EncodingErrors string // --encoding-errors: "strict" (default) or "replace"
	Hexdump        string // -x: file or "-" (stderr) for a hexdump log ("" = none)
	Output         string // -o: also write received data to this file
	AppendOutput   bool   // --append-output: append to Output instead of truncating
	Progress       bool   // -P: live meter on stderr when it is a terminal
	StatsJSON      bool   // --stats-json: one JSON object on stderr at the end
	SHA256         bool   // --sha256: digests of the bytes sent and received
}

// Raw reports whether no view transforms or observes the stream, so the
// zero-copy path can be used.
func (v ViewOptions) Raw() bool {
	return (v.Encoding == "" || v.Encoding == "raw") && v.Hexdump == "" && v.Output == "" &&
		!v.Progress && !v.SHA256
}

// ScanOptions tune -z (SPEC §8).
type ScanOptions struct {
	Concurrency int           // --concurrency (0 means DefaultConcurrency)
	JSON        bool          // --json: one JSON object per port
	WaitFor     time.Duration // --wait-for: probe until every port is open or this passes (0 = one pass)
}

// TLSOptions configure --tls (SPEC §9).
type TLSOptions struct {
	Enabled      bool     // --tls / --ssl
	Insecure     bool     // --tls-insecure: skip verification
	CAFile       string   // --tls-ca
	ServerName   string   // --tls-servername (default: HOST)
	ALPN         []string // --tls-alpn
	CertFile     string   // --tls-cert
	KeyFile      string   // --tls-key
	Pin          string   // --tls-pin: SHA-256 of the peer certificate, hex or base64
	VerifyClient bool     // --tls-verify-client: listen: require a client certificate signed by CAFile
}

// Validate checks the conflict rules between options. Every error it returns
// is a usage error.
func (c *Config) Validate() error {
	s := c.Serve
	type rule struct {
		bad bool
		msg string
	}
	rules := []rule{
		{c.Scan && c.Listen, "-z cannot be combined with -l"},
		{c.Scan && c.Unix, "-z cannot be combined with -U"},
		{s.Broker && !c.Listen, "--broker needs -l"},
		{s.Chat && !c.Listen, "--chat needs -l"},
		{s.Broker && (s.Exec != "" || s.ShExec != ""), "--exec/--sh-exec cannot be combined with --broker or --chat"},
		{s.Chat && (s.Exec != "" || s.ShExec != ""), "--exec/--sh-exec cannot be combined with --broker or --chat"},
		{s.Exec != "" && s.ShExec != "", "--exec and --sh-exec are mutually exclusive"},
		{s.KeepOpen && !c.Listen, "-k needs -l"},
		{(len(s.Allow) > 0 || len(s.Deny) > 0 || s.AllowFile != "" || s.DenyFile != "") && !c.Listen, "--allow/--deny need -l"},
		{c.Stream.SendOnly && c.Stream.RecvOnly, "--send-only and --recv-only are mutually exclusive"},
		{c.UDP && (s.Broker || s.Chat), "--broker/--chat work over TCP or Unix streams, not -u"},
		{c.TLS.Enabled && c.UDP, "--tls works over streams, not -u"},
		{c.Proxy != "" && (c.Listen || c.UDP || c.Unix || c.Scan), "-X/--proxy works only for a TCP connect"},
		{len(c.Net.Join) > 0 && !(c.UDP && c.Listen), "--join needs -l -u"},
		{c.Net.Family != FamilyAny && c.Unix, "-4/-6 cannot be combined with -U"},
		{c.Unix && (len(s.Allow) > 0 || len(s.Deny) > 0 || s.AllowFile != "" || s.DenyFile != ""), "--allow/--deny filter IP clients; they cannot be combined with -U"},
		{c.UDP && c.Unix && (s.Exec != "" || s.ShExec != ""), "--exec/--sh-exec work over TCP, UDP or Unix streams, not -U -u"},
		{(s.Exec != "" || s.ShExec != "") && !c.Views.Raw(), "the data views (--encoding, -x, -o, -P, --sha256) cannot be combined with --exec/--sh-exec: the child's bytes are passed as they are"},
		{(s.Exec != "" || s.ShExec != "") && (c.Stream.CRLF || c.Stream.Delay > 0 || c.Stream.Lines), "-C, --delay and --lines cannot be combined with --exec/--sh-exec: the child's bytes are passed as they are"},
		{c.TLS.VerifyClient && !c.Listen, "--tls-verify-client needs -l"},
		{c.TLS.Enabled && c.Unix && !c.Listen && c.TLS.ServerName == "" && c.TLS.Pin == "" && !c.TLS.Insecure, unixTLSUsage},
		{c.TLS.VerifyClient && c.TLS.CAFile == "", "--tls-verify-client needs --tls-ca"},
		{(c.TLS.CertFile == "") != (c.TLS.KeyFile == ""), "--tls-cert and --tls-key go together"},
		{c.ScanOp.WaitFor > 0 && !c.Scan, "--wait-for needs -z"},
		{c.Net.Retry > 0 && (c.Listen || c.Scan), "--retry works in connect mode"},
	}
	for _, r := range rules {
		if r.bad {
			return errors.New(r.msg)
		}
	}
	if err := checkMapPort(c); err != nil {
		return err
	}
	if c.Unix {
		if err := checkUnixPath(c.Host); err != nil {
			return err
		}
	}
	if err := checkViews(c.Views); err != nil {
		return err
	}
	if err := checkTLS(c.TLS); err != nil {
		return err
	}
	if c.Proxy != "" {
		if err := checkProxy(c.Proxy); err != nil {
			return err
		}
	}
	if err := checkJoin(c.Net.Join); err != nil {
		return err
	}
	if err := checkExec(c.Serve); err != nil {
		return err
	}
	if err := checkForward(c); err != nil {
		return err
	}
	return checkFilter(c.Serve)
}

// Run picks the mode the configuration asks for and runs it.
func Run(ctx context.Context, cfg *Config, stdio Stdio) error {
	switch {
	case cfg.P2P.Enabled:
		return P2P(ctx, cfg, stdio)
	case cfg.Scan:
		return Scan(ctx, cfg, stdio)
	case cfg.Listen && cfg.UDP:
		return listenUDP(ctx, cfg, stdio)
	case cfg.Listen:
		return listenStreams(ctx, cfg, stdio)
	case cfg.UDP:
		return connectUDP(ctx, cfg, stdio)
	default:
		return Connect(ctx, cfg, stdio)
	}
}

// logf writes one event line to stderr when -v is set.
func logf(cfg *Config, stdio Stdio, format string, args ...any) {
	if cfg.Verbose {
		printLine(stdio.Err, format, args...)
	}
}

// warnf writes a warning the spec requires whatever -v says.
func warnf(stdio Stdio, format string, args ...any) {
	printLine(stdio.Err, "warning: "+format, args...)
}

// printLine writes one "sockcat: …" line to w: the one place modes prints
// its lines (events, warnings, the summary, digests).
func printLine(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "sockcat: "+format+"\n", args...)
}
