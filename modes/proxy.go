package modes

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sockcat/sockcat/ioutil"
	"golang.org/x/net/proxy"
)

// DefaultProxyTimeout bounds reaching the target through -X (the TCP
// connect to the proxy plus the SOCKS5 or CONNECT exchange) when -w is not
// given, so a proxy that accepts and then says nothing cannot hang the run.
// It is longer than DefaultHandshakeTimeout because the proxy itself has to
// connect to the target within it.
const DefaultProxyTimeout = 30 * time.Second

// proxySpec is a parsed -X URL.
type proxySpec struct {
	Scheme string // "socks5" (socks5h:// too) or "http"
	Addr   string // the proxy's host:port
	User   string // "" when the URL has no user information
	Pass   string
	Auth   bool // the URL has user information
}

// proxyUsage is the accepted form, quoted by every -X usage error.
const proxyUsage = "want socks5://[user:pass@]host:port, socks5h://… or http://[user:pass@]host:port"

// parseProxy reads -X. Names in the target are always resolved by the
// proxy, so socks5:// and socks5h:// mean the same.
func parseProxy(s string) (proxySpec, error) {
	var p proxySpec
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return p, fmt.Errorf("-X/--proxy: not a URL (%v); %s", err, proxyUsage)
	}
	shown := u.Redacted()
	bad := func(what string) error {
		return fmt.Errorf("-X/--proxy %q: %s; %s", shown, what, proxyUsage)
	}
	switch strings.ToLower(u.Scheme) {
	case "socks5", "socks5h":
		p.Scheme = "socks5"
	case "http":
		p.Scheme = "http"
	case "":
		return p, bad("no scheme")
	default:
		return p, bad(fmt.Sprintf("unsupported scheme %q", u.Scheme))
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return p, bad("unexpected path, query or fragment")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return p, bad("no host")
	}
	if !validHost(host) {
		return p, bad(fmt.Sprintf("host %q is not a host name or IP address", host))
	}
	if port == "" {
		return p, bad("no port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return p, bad(fmt.Sprintf("port %q is not 1-65535", port))
	}
	p.Addr = net.JoinHostPort(host, port)
	if u.User != nil {
		p.Auth = true
		p.User = u.User.Username()
		p.Pass, _ = u.User.Password()
		if p.User == "" {
			return p, bad("empty user name")
		}
		// RFC 1929: user name and password are 1-255 and 0-255 bytes.
		if p.Scheme == "socks5" && (len(p.User) > 255 || len(p.Pass) > 255) {
			return p, bad("socks5 user name and password are at most 255 bytes")
		}
		if p.Scheme == "http" && strings.ContainsAny(p.User, ":\r\n") {
			return p, bad("user name cannot hold a colon or a line break")
		}
	}
	return p, nil
}

// validHost reports whether h is an IP address or a plausible host name
// (letters, digits, '-', '_' and dots).
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return len(h) <= 253
}

// checkProxy validates the -X URL before any socket exists.
func checkProxy(u string) error {
	_, err := parseProxy(u)
	return err
}

// dialProxy reaches HOST PORT through the -X proxy: it connects to the
// proxy (honouring -4/-6, -s, -p and the socket options), asks it for a
// tunnel, and returns the socket as a connection to HOST PORT. The whole
// exchange is bounded by -w, else DefaultProxyTimeout.
func dialProxy(ctx context.Context, cfg *Config) (net.Conn, error) {
	p, err := parseProxy(cfg.Proxy)
	if err != nil {
		return nil, err
	}
	target := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	timeout := cfg.Net.Timeout
	if timeout <= 0 {
		timeout = DefaultProxyTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	host, port, _ := net.SplitHostPort(p.Addr)
	pc := *cfg
	pc.Host = host
	pc.Port, _ = strconv.Atoi(port)
	conn, err := dialAddrs(dctx, &pc, Stdio{Err: io.Discard}, "tcp")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if dctx.Err() != nil {
			err = describe("connect", p.Addr, dctx.Err())
		}
		return nil, fmt.Errorf("proxy: %w", err)
	}
	proxyAddr := peerName(conn)
	switch p.Scheme {
	case "socks5":
		err = socksConnect(dctx, conn, p, target)
	default:
		err = httpConnect(dctx, conn, p, target)
	}
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("proxy %s: %w", proxyAddr, err)
	}
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn, nil
	}
	var remote net.Addr = tunnelAddr(target)
	if a, err := netip.ParseAddr(cfg.Host); err == nil { // an address literal: a real *net.TCPAddr
		remote = net.TCPAddrFromAddrPort(netip.AddrPortFrom(a.Unmap(), uint16(cfg.Port)))
	}
	return &tunnelConn{TCPConn: tc, target: remote}, nil
}

// socksConnect runs the SOCKS5 CONNECT of golang.org/x/net/proxy over conn.
func socksConnect(ctx context.Context, conn net.Conn, p proxySpec, target string) error {
	var auth *proxy.Auth
	if p.Auth {
		auth = &proxy.Auth{User: p.User, Password: p.Pass}
	}
	d, err := proxy.SOCKS5("tcp", p.Addr, auth, nil)
	if err != nil {
		return err
	}
	// The dialer x/net/proxy returns can run the exchange on a socket we
	// dialed ourselves, which keeps our socket options and the plain
	// *net.TCPConn (half-close, splice).
	wc, ok := d.(interface {
		DialWithConn(ctx context.Context, c net.Conn, network, address string) (net.Addr, error)
	})
	if !ok {
		return errors.New("socks5 dialer cannot use an existing connection")
	}
	if _, err := wc.DialWithConn(ctx, conn, "tcp", target); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("connect %s: %w", target, socksReason(err))
	}
	return nil
}

// socksReason is the proxy's own words for a failed SOCKS5 exchange.
func socksReason(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTimeout) {
		return errTimeout
	}
	// x/net reports a SOCKS5 reply code only as text, "unknown error " plus
	// the RFC 1928 §6 meaning ("connection refused"); keep the meaning.
	if msg, ok := strings.CutPrefix(err.Error(), "unknown error "); ok {
		return &labelled{msg, err}
	}
	return reason(err)
}

// httpConnect asks an HTTP proxy for a tunnel (RFC 9110 §9.3.6), with Basic
// authentication when the URL has a user.
func httpConnect(ctx context.Context, conn net.Conn, p proxySpec, target string) error {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(ioutil.ALongTimeAgo) })
	var b strings.Builder
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sockcat\r\n", target, target)
	if p.Auth {
		cred := base64.StdEncoding.EncodeToString([]byte(p.User + ":" + p.Pass))
		fmt.Fprintf(&b, "Proxy-Authorization: Basic %s\r\n", cred)
	}
	b.WriteString("\r\n")
	err := func() error {
		if _, err := io.WriteString(conn, b.String()); err != nil {
			return err
		}
		// Read the response one byte at a time: whatever follows it belongs
		// to the tunnel, and a server that speaks first may already have sent
		// some. A buffered reader would swallow those bytes.
		req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target}
		br := &byteReader{r: conn, left: maxProxyReply}
		resp, err := http.ReadResponse(bufio.NewReaderSize(br, 16), req)
		if err != nil {
			if br.err != nil && br.err != io.EOF {
				// The reader's own failure (a timeout, the size bound) is
				// the reason, not the half line the parser was left with.
				return br.err
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return errors.New("proxy closed the connection (not an HTTP proxy?)")
			}
			return err
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s", resp.Status)
		}
		return nil
	}()
	if !stop() && err == nil { // ctx ended as the exchange finished
		err = ctx.Err()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			if errors.Is(ctxErr, context.Canceled) {
				return ctxErr
			}
			err = errTimeout
		}
		return fmt.Errorf("CONNECT %s: %w", target, reason(err))
	}
	conn.SetDeadline(time.Time{})
	return nil
}

// maxProxyReply bounds the status line and headers of an HTTP proxy's
// reply to CONNECT; real replies are a few hundred bytes.
const maxProxyReply = 64 << 10

// errProxyReplyTooLong reports a proxy reply over [maxProxyReply].
var errProxyReplyTooLong = fmt.Errorf("reply headers longer than %d KiB (not an HTTP proxy?)", maxProxyReply>>10)

// byteReader reads at most one byte per call, so a bufio.Reader on top of
// it never reads past what its caller asked for. It stops after left bytes
// and remembers the first error it met.
type byteReader struct {
	r    io.Reader
	left int
	err  error
}

func (b *byteReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.err = errProxyReplyTooLong
		return 0, b.err
	}
	if len(p) > 1 {
		p = p[:1]
	}
	n, err := b.r.Read(p)
	b.left -= n
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// tunnelConn is the socket to the proxy, named by the target it tunnels
// to: peerName, -v and errors show HOST:PORT. Embedding the *net.TCPConn
// keeps CloseWrite, ReadFrom and WriteTo, so half-close and splice still work.
type tunnelConn struct {
	*net.TCPConn
	target net.Addr // *net.TCPAddr for an address literal, else tunnelAddr
}

// RemoteAddr is the target, as the proxy was asked for it.
func (c *tunnelConn) RemoteAddr() net.Addr { return c.target }

// tunnelAddr is HOST:PORT reached through a proxy, unresolved.
type tunnelAddr string

func (a tunnelAddr) Network() string { return "tcp" }
func (a tunnelAddr) String() string  { return string(a) }
