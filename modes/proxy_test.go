package modes

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseProxy(t *testing.T) {
	tests := []struct {
		in      string
		want    proxySpec
		wantErr string
	}{
		{in: "socks5://127.0.0.1:1080", want: proxySpec{Scheme: "socks5", Addr: "127.0.0.1:1080"}},
		{in: "socks5h://proxy.test:1080", want: proxySpec{Scheme: "socks5", Addr: "proxy.test:1080"}},
		{in: "SOCKS5://[::1]:1080/", want: proxySpec{Scheme: "socks5", Addr: "[::1]:1080"}},
		{in: "http://u:p%40ss@127.0.0.1:3128", want: proxySpec{Scheme: "http", Addr: "127.0.0.1:3128", User: "u", Pass: "p@ss", Auth: true}},
		{in: "socks5://u@127.0.0.1:1080", want: proxySpec{Scheme: "socks5", Addr: "127.0.0.1:1080", User: "u", Auth: true}},
		{in: "https://127.0.0.1:3128", wantErr: `unsupported scheme "https"`},
		{in: "127.0.0.1:3128", wantErr: "-X/--proxy"},
		{in: "http://127.0.0.1", wantErr: "no port"},
		{in: "http://:3128", wantErr: "no host"},
		{in: "soCks5://]:1", wantErr: `host "]" is not a host name or IP address`},
		{in: "http://127.0.0.1:0", wantErr: `port "0" is not 1-65535`},
		{in: "socks5://127.0.0.1:65536", wantErr: `port "65536" is not 1-65535`},
		{in: "http://127.0.0.1:3128/x", wantErr: "unexpected path"},
		{in: "http://127.0.0.1:3128?a=b", wantErr: "unexpected path"},
		{in: "http://:secret@127.0.0.1:3128", wantErr: "empty user name"},
		{in: "socks5://" + strings.Repeat("u", 256) + ":p@127.0.0.1:1", wantErr: "at most 255 bytes"},
		{in: "http://u:secret@127.0.0.1:3128/%zz", wantErr: "not a URL"},
		{in: "http://us%3Aer:p@127.0.0.1:3128", wantErr: "cannot hold a colon"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseProxy(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseProxy(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("parseProxy(%q) error shows the password: %v", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseProxy(%q) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseProxy(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// FuzzParseProxy: whatever parses names a dialable host:port with a port in
// range and a known scheme; an error never shows the password.
func FuzzParseProxy(f *testing.F) {
	for _, s := range []string{"socks5://127.0.0.1:1080", "http://u:p@h:1", "socks5h://[::1]:9/", "http://h", "x://y:z@w:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseProxy(s)
		if err != nil {
			if u, uerr := url.Parse(s); uerr == nil && u.User != nil {
				if pw, ok := u.User.Password(); ok && len(pw) >= 6 && !strings.Contains(u.Redacted(), pw) && strings.Contains(err.Error(), pw) {
					t.Fatalf("parseProxy(%q) error shows the password: %v", s, err)
				}
			}
			return
		}
		if p.Scheme != "socks5" && p.Scheme != "http" {
			t.Fatalf("parseProxy(%q) scheme %q", s, p.Scheme)
		}
		host, port, err := net.SplitHostPort(p.Addr)
		if err != nil || host == "" {
			t.Fatalf("parseProxy(%q) addr %q: %v", s, p.Addr, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("parseProxy(%q) port %q", s, port)
		}
		if p.Auth != (p.User != "") {
			t.Fatalf("parseProxy(%q) = %+v: Auth without a user", s, p)
		}
	})
}

// fakeProxy accepts one connection on 127.0.0.1 and hands it to serve.
func fakeProxy(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serve(c)
	}()
	return ln.Addr().String()
}

func proxyTestConfig(proxy, host string, port int) *Config {
	return &Config{Host: host, Port: port, Proxy: proxy}
}

// TestHTTPConnect: the request line, Host and Basic credentials are right,
// and bytes the target sent right after the proxy's 200 (in the same
// segment) reach the caller.
func TestHTTPConnect(t *testing.T) {
	head := make(chan string, 1)
	addr := fakeProxy(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		head <- b.String()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0-banner\r\n")
		io.Copy(io.Discard, c)
	})
	conn, err := dialProxy(context.Background(), proxyTestConfig("http://user:p%20w@"+addr, "target.test", 22))
	if err != nil {
		t.Fatalf("dialProxy: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	got := <-head
	want := "CONNECT target.test:22 HTTP/1.1\r\nHost: target.test:22\r\nUser-Agent: sockcat\r\n" +
		"Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("user:p w")) + "\r\n\r\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CONNECT request mismatch (-want +got):\n%s", diff)
	}
	banner, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || banner != "SSH-2.0-banner\r\n" {
		t.Fatalf("first bytes through the tunnel = %q, %v", banner, err)
	}
	if got := conn.RemoteAddr().String(); got != "target.test:22" {
		t.Errorf("RemoteAddr = %q, want the target", got)
	}
	if _, ok := conn.(interface{ CloseWrite() error }); !ok {
		t.Errorf("tunnel %T has no CloseWrite: half-close would be lost", conn)
	}
}

// TestHTTPConnectRefused: the proxy's status line is the reason.
func TestHTTPConnectRefused(t *testing.T) {
	addr := fakeProxy(t, func(c net.Conn) {
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
	})
	_, err := dialProxy(context.Background(), proxyTestConfig("http://"+addr, "127.0.0.1", 1))
	want := "proxy " + addr + ": CONNECT 127.0.0.1:1: 403 Forbidden"
	if err == nil || err.Error() != want {
		t.Fatalf("dialProxy = %v, want %q", err, want)
	}
}

// TestSOCKS5SendsNames: the target name goes to the proxy as a name
// (ATYP 3), for socks5:// and socks5h:// alike; nothing is resolved here.
func TestSOCKS5SendsNames(t *testing.T) {
	for _, scheme := range []string{"socks5", "socks5h"} {
		t.Run(scheme, func(t *testing.T) {
			req := make(chan []byte, 1)
			addr := fakeProxy(t, func(c net.Conn) {
				greet := make([]byte, 3) // VER 5, NMETHODS 1, METHOD 0
				if _, err := io.ReadFull(c, greet); err != nil {
					return
				}
				c.Write([]byte{5, 0})
				head := make([]byte, 5) // VER CMD RSV ATYP LEN
				if _, err := io.ReadFull(c, head); err != nil {
					return
				}
				rest := make([]byte, int(head[4])+2)
				io.ReadFull(c, rest)
				req <- append(head, rest...)
				c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
				io.WriteString(c, "hi")
			})
			conn, err := dialProxy(context.Background(), proxyTestConfig(scheme+"://"+addr, "name.invalid", 443))
			if err != nil {
				t.Fatalf("dialProxy: %v", err)
			}
			defer conn.Close()
			want := append([]byte{5, 1, 0, 3, byte(len("name.invalid"))}, "name.invalid\x01\xbb"...)
			if diff := cmp.Diff(want, <-req); diff != "" {
				t.Errorf("SOCKS5 request mismatch (-want +got):\n%s", diff)
			}
			buf := make([]byte, 2)
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "hi" {
				t.Fatalf("through the tunnel: %q, %v", buf, err)
			}
		})
	}
}

// TestSOCKS5Refused: the SOCKS5 reply code is reported in words.
func TestSOCKS5Refused(t *testing.T) {
	addr := fakeProxy(t, func(c net.Conn) {
		io.ReadFull(c, make([]byte, 3))
		c.Write([]byte{5, 0})
		io.ReadFull(c, make([]byte, 10)) // IPv4 request
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
	})
	_, err := dialProxy(context.Background(), proxyTestConfig("socks5://"+addr, "127.0.0.1", 1))
	want := "proxy " + addr + ": connect 127.0.0.1:1: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("dialProxy = %v, want %q", err, want)
	}
}

// TestProxyTimeout: a proxy that accepts and never answers is bounded by -w.
func TestProxyTimeout(t *testing.T) {
	for _, scheme := range []string{"http", "socks5"} {
		t.Run(scheme, func(t *testing.T) {
			release := make(chan struct{})
			addr := fakeProxy(t, func(c net.Conn) { <-release })
			defer close(release)
			cfg := proxyTestConfig(scheme+"://"+addr, "127.0.0.1", 80)
			cfg.Net.Timeout = 300 * time.Millisecond
			start := time.Now()
			_, err := dialProxy(context.Background(), cfg)
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("dialProxy took %v with -w 300ms", took)
			}
			if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.HasSuffix(err.Error(), ": timed out") {
				t.Fatalf("dialProxy to a silent proxy = %v, want a timeout", err)
			}
		})
	}
}

// TestProxyCancel: an interrupt during the exchange returns ctx's error
// (exit 130), not a timeout.
func TestProxyCancel(t *testing.T) {
	release := make(chan struct{})
	addr := fakeProxy(t, func(c net.Conn) { <-release })
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := dialProxy(ctx, proxyTestConfig("http://"+addr, "127.0.0.1", 80))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("dialProxy after cancel = %v, want context.Canceled", err)
	}
}

// TestHTTPConnectTrickle: a proxy that trickles header bytes until the
// deadline is reported as a timeout, not as a malformed header.
func TestHTTPConnectTrickle(t *testing.T) {
	addr := fakeProxy(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Slow: ")
		for i := 0; i < 200; i++ {
			if _, err := io.WriteString(c, "x"); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	cfg := proxyTestConfig("http://"+addr, "127.0.0.1", 80)
	cfg.Net.Timeout = 300 * time.Millisecond
	_, err := dialProxy(context.Background(), cfg)
	if err == nil || !strings.HasSuffix(err.Error(), ": timed out") || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("dialProxy to a trickling proxy = %v, want %q", err, "… timed out")
	}
}

// TestHTTPConnectHugeReply: the reply's headers are bounded; a proxy that
// sends megabytes of them is refused after maxProxyReply bytes.
func TestHTTPConnectHugeReply(t *testing.T) {
	sent := make(chan int, 1)
	addr := fakeProxy(t, func(c net.Conn) {
		n, _ := io.WriteString(c, "HTTP/1.1 200 OK\r\n")
		line := "X-Filler: " + strings.Repeat("y", 1000) + "\r\n"
		for n < 16<<20 {
			m, err := io.WriteString(c, line)
			n += m
			if err != nil {
				break
			}
		}
		sent <- n
	})
	_, err := dialProxy(context.Background(), proxyTestConfig("http://"+addr, "127.0.0.1", 80))
	if err == nil || !errors.Is(err, errProxyReplyTooLong) {
		t.Fatalf("dialProxy = %v, want %v", err, errProxyReplyTooLong)
	}
	if n := <-sent; n >= 16<<20 {
		t.Errorf("the proxy could send all %d bytes: the reply was read to the end", n)
	}
}
