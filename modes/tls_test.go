package modes

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tlsTestPKI is a CA with a server and a client certificate, as files for
// Config and as values for in-process peers.
type tlsTestPKI struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
	server, client                                       tls.Certificate
	pool                                                 *x509.CertPool
}

func newTLSTestPKI(t *testing.T) *tlsTestPKI {
	t.Helper()
	dir := t.TempDir()
	p := &tlsTestPKI{pool: x509.NewCertPool()}
	ca, caKey := tlsTestCert(t, "test CA", nil, nil, 0)
	p.pool.AddCert(ca)
	p.caFile = tlsTestWrite(t, dir, "ca.pem", ca, nil)
	srv, srvKey := tlsTestCert(t, "localhost", ca, caKey, x509.ExtKeyUsageServerAuth)
	p.serverCert = tlsTestWrite(t, dir, "server.pem", srv, nil)
	p.serverKey = tlsTestWrite(t, dir, "server.key", nil, srvKey)
	p.server = tls.Certificate{Certificate: [][]byte{srv.Raw}, PrivateKey: srvKey, Leaf: srv}
	cli, cliKey := tlsTestCert(t, "test client", ca, caKey, x509.ExtKeyUsageClientAuth)
	p.clientCert = tlsTestWrite(t, dir, "client.pem", cli, nil)
	p.clientKey = tlsTestWrite(t, dir, "client.key", nil, cliKey)
	p.client = tls.Certificate{Certificate: [][]byte{cli.Raw}, PrivateKey: cliKey, Leaf: cli}
	return p
}

// tlsTestCert makes a CA (usage 0, self-signed) or a leaf signed by parent,
// valid for localhost, sni.test and 127.0.0.1.
func tlsTestCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
	}
	signer, signerKey := tmpl, key
	if usage == 0 {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		tmpl.DNSNames = []string{"localhost", "sni.test"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func tlsTestWrite(t *testing.T, dir, name string, c *x509.Certificate, k *ecdsa.PrivateKey) string {
	t.Helper()
	var b *pem.Block
	if c != nil {
		b = &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		b = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// tlsTestServer runs a crypto/tls server on 127.0.0.1 that records each
// ClientHello and echoes what it reads until EOF, then closes.
func tlsTestServer(t *testing.T, conf *tls.Config) (addr string, hellos <-chan *tls.ClientHelloInfo) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *tls.ClientHelloInfo, 16)
	conf = conf.Clone()
	conf.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		ch <- h
		return nil, nil
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(c, conf)
				io.Copy(tc, tc)
				tc.Close()
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// tlsTestConfig is a client Config for addr.
func tlsTestConfig(t *testing.T, addr string, o TLSOptions) *Config {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Host: host, TLS: o}
	cfg.TLS.Enabled = true
	if cfg.Port, err = strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	cfg.Stream.QuitAfter = -1
	return cfg
}

// tlsTestDial connects and runs tlsClient.
func tlsTestDial(t *testing.T, cfg *Config) (net.Conn, string, error) {
	t.Helper()
	raw, err := net.Dial("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	c, err := tlsClient(context.Background(), cfg, Stdio{Err: &stderr}, raw)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, stderr.String(), err
}

func TestParsePin(t *testing.T) {
	sum := sha256.Sum256([]byte("sockcat"))
	h := hex.EncodeToString(sum[:])
	var colon []string
	for _, b := range sum {
		colon = append(colon, strings.ToUpper(hex.EncodeToString([]byte{b})))
	}
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"hex", h, true},
		{"HEX", strings.ToUpper(h), true},
		{"colons", strings.Join(colon, ":"), true},
		{"base64", base64.StdEncoding.EncodeToString(sum[:]), true},
		{"base64 raw", base64.RawStdEncoding.EncodeToString(sum[:]), true},
		{"base64 url", base64.RawURLEncoding.EncodeToString(sum[:]), true},
		{"empty", "", false},
		{"short hex", h[:62], false},
		{"long hex", h + "00", false},
		{"not hex", "zz" + h[2:], false},
		{"colons misplaced", h[:1] + ":" + h[1:], false},
		{"one colon group short", strings.Join(colon[:31], ":") + ":A", false},
		{"base64 of 31 bytes", base64.StdEncoding.EncodeToString(sum[:31]), false},
		{"sha1 length", h[:40], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePin(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parsePin(%q) error = %v, want ok %t", tt.in, err, tt.ok)
			}
			if tt.ok {
				if diff := cmp.Diff(sum, got); diff != "" {
					t.Errorf("parsePin(%q) mismatch (-want +got):\n%s", tt.in, diff)
				}
			} else if !strings.Contains(err.Error(), "--tls-pin") {
				t.Errorf("parsePin(%q) error %q does not name the flag", tt.in, err)
			}
		})
	}
}

// FuzzParsePin checks that every fingerprint reads back from each printed
// form, and that whatever parses is a fingerprint that round-trips.
func FuzzParsePin(f *testing.F) {
	sum := sha256.Sum256([]byte("seed"))
	f.Add(hex.EncodeToString(sum[:]), sum[:])
	f.Add(base64.StdEncoding.EncodeToString(sum[:]), []byte{1, 2, 3})
	f.Add("AB:CD", []byte{})
	f.Add(strings.Repeat("0:", 31)+"0", []byte("x"))
	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		if got, err := parsePin(s); err == nil {
			back, err := parsePin(hex.EncodeToString(got[:]))
			if err != nil || back != got {
				t.Fatalf("parsePin(%q) = %x does not round-trip: %x, %v", s, got, back, err)
			}
		}
		var want [sha256.Size]byte
		copy(want[:], raw)
		var parts []string
		for _, b := range want {
			parts = append(parts, hex.EncodeToString([]byte{b}))
		}
		for _, form := range []string{
			hex.EncodeToString(want[:]), strings.Join(parts, ":"),
			base64.StdEncoding.EncodeToString(want[:]), base64.RawURLEncoding.EncodeToString(want[:]),
		} {
			got, err := parsePin(form)
			if err != nil || got != want {
				t.Fatalf("parsePin(%q) = %x, %v; want %x", form, got, err, want)
			}
		}
	})
}

func TestCheckTLS(t *testing.T) {
	p := newTLSTestPKI(t)
	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("not pem"), 0o600)
	pin := strings.Repeat("ab", 32)
	tests := []struct {
		name    string
		o       TLSOptions
		wantErr string // "" = valid
	}{
		{"plain", TLSOptions{}, ""},
		{"ca", TLSOptions{CAFile: p.caFile}, ""},
		{"pair", TLSOptions{CertFile: p.clientCert, KeyFile: p.clientKey}, ""},
		{"pin", TLSOptions{Pin: pin}, ""},
		{"pin and ca", TLSOptions{Pin: pin, CAFile: p.caFile}, ""},
		{"bad pin", TLSOptions{Pin: "abc"}, `--tls-pin "abc": want a SHA-256 fingerprint`},
		{"pin and insecure", TLSOptions{Pin: pin, Insecure: true}, "--tls-pin and --tls-insecure are mutually exclusive"},
		{"missing ca", TLSOptions{CAFile: "/nonexistent/ca.pem"}, "--tls-ca: /nonexistent/ca.pem: no such file or directory"},
		{"junk ca", TLSOptions{CAFile: junk}, "no PEM certificate found"},
		{"missing key", TLSOptions{CertFile: p.clientCert, KeyFile: "/nonexistent/k"}, "--tls-key: /nonexistent/k: no such file"},
		{"mismatched pair", TLSOptions{CertFile: p.serverCert, KeyFile: p.clientKey}, "private key does not match public key"},
		{"alpn too long", TLSOptions{ALPN: []string{strings.Repeat("x", 256)}}, "longer than 255 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Enabled = true
			err := checkTLS(tt.o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("checkTLS(%+v) = %v, want nil", tt.o, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("checkTLS(%+v) = %v, want an error containing %q", tt.o, err, tt.wantErr)
			}
		})
	}
}

// TestTLSClientHello checks what a server sees: SNI from --tls-servername
// (else HOST), the ALPN list, and no version below TLS 1.2.
func TestTLSClientHello(t *testing.T) {
	p := newTLSTestPKI(t)
	addr, hellos := tlsTestServer(t, &tls.Config{Certificates: []tls.Certificate{p.server}, NextProtos: []string{"b"}})
	tests := []struct {
		name     string
		host, sn string
		alpn     []string
		wantSNI  string
	}{
		{"servername and alpn", "127.0.0.1", "sni.test", []string{"a", "b"}, "sni.test"},
		{"host name as SNI", "localhost", "", nil, "localhost"},
		{"no SNI for an IP", "127.0.0.1", "", []string{"b"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tlsTestConfig(t, addr, TLSOptions{CAFile: p.caFile, ServerName: tt.sn, ALPN: tt.alpn})
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Host = tt.host
			var stderr bytes.Buffer
			cfg.Verbose = true
			c, err := tlsClient(context.Background(), cfg, Stdio{Err: &stderr}, raw)
			if err != nil {
				t.Fatalf("tlsClient: %v", err)
			}
			defer c.Close()
			h := <-hellos
			type hello struct {
				SNI    string
				ALPN   []string
				MinVer uint16
			}
			minVer := uint16(0xffff)
			for _, v := range h.SupportedVersions {
				minVer = min(minVer, v)
			}
			want := hello{tt.wantSNI, tt.alpn, tls.VersionTLS12}
			got := hello{h.ServerName, h.SupportedProtos, minVer}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ClientHello mismatch (-want +got):\n%s", diff)
			}
			wantALPN := "alpn none"
			if len(tt.alpn) > 0 {
				wantALPN = "alpn b"
			}
			if !strings.Contains(stderr.String(), wantALPN) {
				t.Errorf("-v output %q lacks %q", stderr.String(), wantALPN)
			}
		})
	}
}

// TestTLSClientVerify covers the verification choices against one server
// whose certificate comes from the test CA.
func TestTLSClientVerify(t *testing.T) {
	p := newTLSTestPKI(t)
	addr, _ := tlsTestServer(t, &tls.Config{Certificates: []tls.Certificate{p.server}})
	sum := sha256.Sum256(p.server.Leaf.Raw)
	right := hex.EncodeToString(sum[:])
	wrong := strings.Repeat("00", 32)
	tests := []struct {
		name    string
		o       TLSOptions
		host    string
		wantErr string
	}{
		{"ca", TLSOptions{CAFile: p.caFile}, "localhost", ""},
		{"system roots", TLSOptions{}, "localhost", "x509: certificate signed by unknown authority"},
		{"insecure", TLSOptions{Insecure: true}, "localhost", ""},
		{"pin", TLSOptions{Pin: right}, "127.0.0.1", ""},
		{"pin ignores the name", TLSOptions{Pin: right, ServerName: "other.test"}, "127.0.0.1", ""},
		{"wrong pin", TLSOptions{Pin: wrong}, "127.0.0.1", "certificate sha256 " + right + " does not match --tls-pin"},
		{"pin and ca", TLSOptions{Pin: right, CAFile: p.caFile}, "localhost", ""},
		{"pin and ca, wrong name", TLSOptions{Pin: right, CAFile: p.caFile, ServerName: "other.test"}, "localhost", "not other.test"},
		{"wrong name", TLSOptions{CAFile: p.caFile, ServerName: "other.test"}, "localhost", "x509: certificate is valid for localhost, sni.test, not other.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tlsTestConfig(t, addr, tt.o)
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Host = tt.host
			c, err := tlsClient(context.Background(), cfg, Stdio{Err: io.Discard}, raw)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("tlsClient = %v, want success", err)
				}
				defer c.Close()
				if _, err := c.Write([]byte("hi")); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 2)
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
					t.Fatalf("echo = %q, %v", buf, err)
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("tlsClient succeeded, want %q", tt.wantErr)
			}
			want := "tls handshake with " + addr + ": "
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("tlsClient error = %q, want %q…%q", err, want, tt.wantErr)
			}
		})
	}
}

// TestTLSMinVersion: a server that stops at TLS 1.1 is refused.
func TestTLSMinVersion(t *testing.T) {
	p := newTLSTestPKI(t)
	addr, _ := tlsTestServer(t, &tls.Config{Certificates: []tls.Certificate{p.server}, MaxVersion: tls.VersionTLS11})
	_, _, err := tlsTestDial(t, tlsTestConfig(t, addr, TLSOptions{CAFile: p.caFile}))
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("tlsClient to a TLS 1.1 server = %v, want a protocol version error", err)
	}
}

// TestTLSHandshakeTimeout: a peer that never answers fails the handshake
// within -w, as a timeout.
func TestTLSHandshakeTimeout(t *testing.T) {
	if got := handshakeTimeout(&Config{}); got != DefaultHandshakeTimeout {
		t.Errorf("handshakeTimeout without -w = %v, want %v", got, DefaultHandshakeTimeout)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c // silent: reads nothing, writes nothing
		}
	}()
	cfg := tlsTestConfig(t, ln.Addr().String(), TLSOptions{Insecure: true})
	cfg.Net.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, _, err = tlsTestDial(t, cfg)
	took := time.Since(start)
	if c := <-held; c != nil {
		c.Close()
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) || !strings.HasSuffix(err.Error(), ": timed out") {
		t.Fatalf("tlsClient to a silent peer = %v, want a timeout", err)
	}
	if took > 3*time.Second {
		t.Fatalf("tlsClient took %v with -w 300ms", took)
	}
}

// tlsTestListener starts tlsListener on 127.0.0.1 and returns it with
// what it printed.
func tlsTestListener(t *testing.T, cfg *Config) (net.Listener, string) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	ln, err := tlsListener(cfg, Stdio{Err: &stderr}, raw)
	if err != nil {
		raw.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, stderr.String()
}

var fingerprintLine = regexp.MustCompile(`^sockcat: tls: self-signed certificate sha256 ([0-9a-f]{64}) \(for --tls-pin\)\n$`)

// TestTLSListenerEphemeral: without --tls-cert the listener prints one line
// with the fingerprint of an ECDSA certificate, and a pinned client reaches
// it; a 1 MiB transfer each way with half-close arrives whole.
func TestTLSListenerEphemeral(t *testing.T) {
	ln, out := tlsTestListener(t, &Config{TLS: TLSOptions{Enabled: true}})
	m := fingerprintLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("listener stderr = %q, want one fingerprint line", out)
	}
	up, down := make([]byte, 1<<20), make([]byte, 1<<20)
	rand.Read(up)
	rand.Read(down)
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- func() error {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if err := tlsHandshake(context.Background(), c); err != nil {
				return err
			}
			got, err := io.ReadAll(c) // until the client's close_notify
			if err != nil {
				return err
			}
			if sha256.Sum256(got) != sha256.Sum256(up) {
				return errors.New("upload differs")
			}
			if _, err := c.Write(down); err != nil {
				return err
			}
			return c.(interface{ CloseWrite() error }).CloseWrite()
		}()
	}()
	cfg := tlsTestConfig(t, ln.Addr().String(), TLSOptions{Pin: m[1]})
	c, _, err := tlsTestDial(t, cfg)
	if err != nil {
		t.Fatalf("pinned client: %v", err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	leaf := c.(*tlsConn).ConnectionState().PeerCertificates[0]
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("ephemeral key is %T, want ECDSA", leaf.PublicKey)
	}
	if _, err := c.Write(up); err != nil {
		t.Fatal(err)
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatalf("CloseWrite: %v", err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(down) {
		t.Errorf("download: %d bytes, differs from the %d sent", len(got), len(down))
	}
	if err := <-srvErr; err != nil {
		t.Fatalf("server: %v", err)
	}
}

// TestTLSListenerSlowClient: a client that never sends its ClientHello does
// not stop Accept or other clients, and its handshake fails at the timeout.
func TestTLSListenerSlowClient(t *testing.T) {
	cfg := &Config{TLS: TLSOptions{Enabled: true}}
	cfg.Net.Timeout = 2 * time.Second // the slow client's handshake ends here
	ln, out := tlsTestListener(t, cfg)
	pin := fingerprintLine.FindStringSubmatch(out)[1]
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { // serve: handshake in the connection's own goroutine
				defer wg.Done()
				defer c.Close()
				if err := tlsHandshake(context.Background(), c); err != nil {
					errs <- err
					return
				}
				io.Copy(c, c)
				errs <- nil
			}()
		}
	}()
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	start := time.Now()
	c, _, err := tlsTestDial(t, tlsTestConfig(t, ln.Addr().String(), TLSOptions{Pin: pin}))
	if err != nil {
		t.Fatalf("second client: %v", err)
	}
	if took := time.Since(start); took > 1500*time.Millisecond { // < the 2s a blocked Accept would add
		t.Errorf("second client waited %v behind the slow one", took)
	}
	c.Close()
	var got []string
	for range 2 {
		if err := <-errs; err != nil {
			got = append(got, err.Error())
		} else {
			got = append(got, "ok")
		}
	}
	want := []string{"ok", "tls handshake with " + slow.LocalAddr().String() + ": timed out"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("per-connection results mismatch (-want +got):\n%s", diff)
	}
}

// TestTLSListenerClientAuth: --tls-verify-client with --tls-ca requires a
// client certificate from that CA; listening, --tls-pin names the one
// client certificate accepted.
func TestTLSListenerClientAuth(t *testing.T) {
	p := newTLSTestPKI(t)
	sum := sha256.Sum256(p.client.Leaf.Raw)
	tests := []struct {
		name       string
		o          TLSOptions
		clientCert bool
		wantErr    string
	}{
		{"verify with cert", TLSOptions{CAFile: p.caFile, VerifyClient: true}, true, ""},
		{"verify without cert", TLSOptions{CAFile: p.caFile, VerifyClient: true}, false, "client didn't provide a certificate"},
		{"pin with cert", TLSOptions{Pin: hex.EncodeToString(sum[:])}, true, ""},
		{"pin without cert", TLSOptions{Pin: hex.EncodeToString(sum[:])}, false, "client didn't provide a certificate"},
		{"wrong pin", TLSOptions{Pin: strings.Repeat("11", 32)}, true, "does not match --tls-pin"},
		{"no client auth", TLSOptions{}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Enabled, o.CertFile, o.KeyFile = true, p.serverCert, p.serverKey
			ln, out := tlsTestListener(t, &Config{TLS: o})
			if out != "" {
				t.Errorf("listener with --tls-cert printed %q without -v", out)
			}
			srvErr := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					srvErr <- err
					return
				}
				defer c.Close()
				srvErr <- tlsHandshake(context.Background(), c)
			}()
			co := TLSOptions{CAFile: p.caFile}
			if tt.clientCert {
				co.CertFile, co.KeyFile = p.clientCert, p.clientKey
			}
			cfg := tlsTestConfig(t, ln.Addr().String(), co)
			cfg.Host = "localhost"
			c, _, _ := tlsTestDial(t, cfg)
			if c != nil {
				c.Read(make([]byte, 1)) // TLS 1.3: the server's verdict comes after the client's Finished
			}
			err := <-srvErr
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("server handshake: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("server handshake = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestTLSServerHandshakeErrors: after a plaintext client, reads report the
// failure without an address (multi-client modes prefix the client), while
// tlsHandshake, the one-shot path, names the client.
func TestTLSServerHandshakeErrors(t *testing.T) {
	ln, _ := tlsTestListener(t, &Config{TLS: TLSOptions{Enabled: true}})
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	io.WriteString(client, "GET / HTTP/1.0\r\n\r\n")
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const why = "tls: first record does not look like a TLS handshake"
	_, rerr := c.Read(make([]byte, 1))
	herr := tlsHandshake(context.Background(), c)
	got := []string{fmt.Sprint(rerr), fmt.Sprint(herr)}
	want := []string{"tls handshake: " + why, "tls handshake with " + client.LocalAddr().String() + ": " + why}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("handshake errors mismatch (-want +got):\n%s", diff)
	}
}
