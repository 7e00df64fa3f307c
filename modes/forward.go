package modes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// --forward (SPEC §13): each session is relayed to a target instead of
// stdio. In listen mode every admitted client gets its own connection to the
// target; in connect mode the one connection to HOST PORT does (a reverse
// tunnel). Each side's EOF is passed on as a half-close and the session ends
// when both directions are done, or at once when one side resets.
//
// TCP to TCP keeps the kernel's zero-copy path both ways: io.Copy between
// two *net.TCPConn uses splice(2) on Linux. -x, -o, --sha256 and -v tap the
// relay and give that up. "Received" is what the client sent (written to -o,
// dumped with '<'), "sent" is what went back to it from the target.

// defaultForwardIdle is how long a UDP sender relayed by --forward, or fed
// to a -e/-c child, may stay silent before it is forgotten (-i overrides).
const defaultForwardIdle = 60 * time.Second

// forwardTarget is a parsed --forward address.
type forwardTarget struct {
	network string // "tcp", "udp" or "unix"
	addr    string // HOST:PORT or PATH
	host    string
	port    int
}

// parseForward reads HOST:PORT, [V6]:PORT or unix:PATH.
func parseForward(s string, udp bool) (forwardTarget, error) {
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if path == "" {
			return forwardTarget{}, errors.New("--forward unix: needs a socket path")
		}
		if udp {
			return forwardTarget{}, errors.New("--forward with -u needs a HOST:PORT target")
		}
		return forwardTarget{network: "unix", addr: path, host: path}, nil
	}
	host, p, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return forwardTarget{}, fmt.Errorf("--forward %q: want HOST:PORT, [V6]:PORT or unix:PATH", s)
	}
	nw := "tcp"
	if udp {
		nw = "udp"
	}
	port, err := ParsePort(p, nw, false)
	if err != nil {
		return forwardTarget{}, fmt.Errorf("--forward %q: %w", s, err)
	}
	return forwardTarget{network: nw, addr: net.JoinHostPort(host, strconv.Itoa(port)), host: host, port: port}, nil
}

// checkForward validates --forward and its conflicts before any socket
// exists.
func checkForward(c *Config) error {
	if c.Forward == "" {
		return nil
	}
	s := c.Serve
	switch {
	case s.Exec != "" || s.ShExec != "":
		return errors.New("--forward cannot be combined with --exec/--sh-exec")
	case s.Broker || s.Chat:
		return errors.New("--forward cannot be combined with --broker or --chat")
	case c.Scan:
		return errors.New("--forward cannot be combined with -z")
	case c.UDP && !c.Listen:
		return errors.New("--forward with -u needs -l")
	case c.Unix && c.UDP:
		return errors.New("--forward works over -U streams, not -U -u")
	case c.Views.Encoding != "" && c.Views.Encoding != "raw", c.Stream.CRLF, c.Views.Progress:
		return errors.New("--forward relays bytes as they are: --encoding, -C and -P do not apply (-x, -o, --sha256 and -v do)")
	}
	_, err := parseForward(c.Forward, c.UDP)
	return err
}

// targetConfig is cfg for dialing the target: -w, -4/-6, -n and -X apply;
// the listen side's -s and -p do not.
func targetConfig(cfg *Config, t forwardTarget) *Config {
	tc := *cfg
	tc.Listen, tc.Host, tc.Port, tc.Unix = false, t.host, t.port, t.network == "unix"
	tc.Net.Source, tc.Net.SourcePort, tc.Net.Retry = "", 0, 0
	if t.network == "udp" {
		tc.Proxy = ""
	}
	return &tc
}

// dialTarget connects to the --forward target.
func dialTarget(ctx context.Context, cfg *Config, stdio Stdio, t forwardTarget) (net.Conn, error) {
	tc := targetConfig(cfg, t)
	switch t.network {
	case "unix":
		d := &net.Dialer{Timeout: cfg.Net.Timeout}
		c, err := d.DialContext(ctx, "unix", t.addr)
		if err != nil {
			return nil, describe("connect", t.addr, err)
		}
		return c, nil
	case "udp":
		return dialAddrs(ctx, tc, stdio, "udp")
	}
	if tc.Proxy != "" {
		return dialProxy(ctx, tc)
	}
	return dialAddrs(ctx, tc, stdio, "tcp")
}

// forwardSession returns the session that relays a client to the target,
// and a function that closes the shared wiretap files.
func forwardSession(cfg *Config, stdio Stdio) (sessionFunc, func(), error) {
	t, err := parseForward(cfg.Forward, cfg.UDP)
	if err != nil {
		return nil, nil, err
	}
	hex, closeHex, err := openHexTap(cfg, stdio)
	if err != nil {
		return nil, nil, err
	}
	var out io.Writer
	closeOut := func() error { return nil }
	if cfg.Views.Output != "" {
		f, err := openShared(cfg, cfg.Views.Output, cfg.Views.AppendOutput)
		if err != nil {
			closeHex()
			return nil, nil, err
		}
		out = &lockedWriter{w: f}
		closeOut = closeNamed("-o", cfg.Views.Output, f)
	}
	session := func(ctx context.Context, client net.Conn) (ioutil.Stats, error) {
		target, err := dialTarget(ctx, cfg, stdio, t)
		if err != nil {
			refuse(client) // the client learns at once that nothing is there
			return ioutil.Stats{}, err
		}
		defer target.Close()
		logf(cfg, stdio, "forwarding %s to %s", peerName(client), peerName(target))
		tap := newTap(cfg, hex, out)
		start := time.Now()
		st, err := relay(ctx, cfg, client, target, tap)
		if cfg.Verbose || tap.sums() {
			report(cfg, stdio, tap.views(), client, st, time.Since(start), err)
		}
		return st, err
	}
	return session, func() { closeHex(); closeOut() }, nil
}

// lockedWriter serialises the writes of concurrent sessions to one -o file.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// openHexTap opens the -x log of a forwarder (nil without -x).
func openHexTap(cfg *Config, stdio Stdio) (*ioutil.Hexdump, func() error, error) {
	switch cfg.Views.Hexdump {
	case "":
		return nil, func() error { return nil }, nil
	case "-":
		return ioutil.NewHexdump(stdio.Err), func() error { return nil }, nil
	}
	f, err := openShared(cfg, cfg.Views.Hexdump, false)
	if err != nil {
		return nil, nil, err
	}
	return ioutil.NewHexdump(f), closeNamed("-x", cfg.Views.Hexdump, f), nil
}

// tap observes one relayed session: the shared hexdump and -o file, and the
// session's own digests.
type tap struct {
	hex              *ioutil.Hexdump
	out              io.Writer
	sentSum, recvSum *ioutil.Digest
}

func newTap(cfg *Config, hex *ioutil.Hexdump, out io.Writer) *tap {
	t := &tap{hex: hex, out: out}
	if cfg.Views.SHA256 {
		t.sentSum, t.recvSum = ioutil.NewDigest(), ioutil.NewDigest()
	}
	return t
}

func (t *tap) sums() bool { return t.sentSum != nil }

// views gives report the session's digests.
func (t *tap) views() *views { return &views{sentSum: t.sentSum, recvSum: t.recvSum} }

// observer is what watches one direction: toTarget is the client's bytes.
func (t *tap) observer(toTarget bool) ioutil.Observer {
	var fns []ioutil.Observer
	dir, sum := byte(ioutil.Sent), t.sentSum
	if toTarget {
		dir, sum = ioutil.Received, t.recvSum
	}
	if t.hex != nil {
		fns = append(fns, func(p []byte) { t.hex.Dump(dir, p) })
	}
	if sum != nil {
		fns = append(fns, sum.Observe)
	}
	if toTarget && t.out != nil {
		fns = append(fns, func(p []byte) { t.out.Write(p) })
	}
	return ioutil.Observers(fns...)
}

// relay copies client ↔ target until both directions are done.
func relay(ctx context.Context, cfg *Config, client, target net.Conn, t *tap) (ioutil.Stats, error) {
	stop := context.AfterFunc(ctx, func() {
		client.SetDeadline(ioutil.ALongTimeAgo)
		target.SetDeadline(ioutil.ALongTimeAgo)
	})
	defer stop()
	datagrams := isPacket(target)
	up, down := make(chan halfResult, 1), make(chan halfResult, 1)
	go relayHalf(up, target, client, t.observer(true), cfg, datagrams)
	go relayHalf(down, client, target, t.observer(false), cfg, datagrams)
	var st ioutil.Stats
	var first error
	for range 2 {
		var r halfResult
		select {
		case r = <-up:
			st.Received = r.n
		case r = <-down:
			st.Sent = r.n
		}
		if r.err != nil || datagrams {
			// A reset (or, for datagrams, either side's end) ends both.
			client.SetDeadline(ioutil.ALongTimeAgo)
			target.SetDeadline(ioutil.ALongTimeAgo)
			if first == nil && r.err != nil {
				first = r.err
			}
		}
	}
	st.SendDone = first == nil
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	return st, first
}

type halfResult struct {
	n   int64
	err error
}

// relayHalf copies src to dst, then passes src's EOF on as a half-close of
// dst. Unobserved TCP to TCP goes through io.Copy unwrapped, which splices.
func relayHalf(res chan<- halfResult, dst, src net.Conn, obs ioutil.Observer, cfg *Config, datagrams bool) {
	var (
		n   int64
		err error
	)
	switch {
	case datagrams:
		n, err = copyDatagrams(dst, src, obs, cfg.Net.Buffer())
	case obs == nil:
		n, err = io.Copy(dst, src)
	default:
		n, err = io.CopyBuffer(dst, ioutil.ObserveReader(src, obs), make([]byte, cfg.Net.Buffer()))
	}
	if err == nil && !datagrams {
		err = ioutil.CloseWrite(dst)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil // the other direction failed and ended this one
	}
	res <- halfResult{n, err}
}

// copyDatagrams copies one datagram per read until src ends (a UDP sender's
// idle timeout, or the socket closed).
func copyDatagrams(dst, src net.Conn, obs ioutil.Observer, size int) (int64, error) {
	buf := make([]byte, size)
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if obs != nil {
				obs(buf[:n])
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// isPacket reports whether c carries datagrams.
func isPacket(c net.Conn) bool {
	switch c.(type) {
	case *net.UDPConn, *senderConn:
		return true
	}
	return false
}
