package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes"
	"github.com/urfave/cli/v2"
)

// parseConfig runs the command line through normalizeArgs and the app up
// to configFromFlags, and returns the configuration the mode would get.
func parseConfig(t *testing.T, line string) (*modes.Config, error) {
	t.Helper()
	app := newApp(modes.Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, false, false)
	var cfg *modes.Config
	app.Action = func(c *cli.Context) error {
		var err error
		cfg, err = configFromFlags(c)
		return err
	}
	argv, err := normalizeArgs(app, append([]string{"sockcat"}, fields(line)...))
	if err != nil {
		return nil, err
	}
	if err := app.Run(argv); err != nil {
		return nil, err
	}
	return cfg, nil
}

// TestConfigFromFlags checks what each accepted spelling turns into.
func TestConfigFromFlags(t *testing.T) {
	type got struct {
		Host   string
		Port   int
		Source string
		Proxy  string
		TLS    modes.TLSOptions
		Hexdmp string
	}
	tests := []struct {
		line string
		want got
	}{
		// Item 3: -s is the listen address (SPEC §5).
		{"-l -s 127.0.0.1 -p 4444", got{Host: "127.0.0.1", Port: 4444, Source: "127.0.0.1"}},
		{"-l -s 127.0.0.1 127.0.0.1 4444", got{Host: "127.0.0.1", Port: 4444, Source: "127.0.0.1"}},
		{"-l -s ::1 [::1] 4444", got{Host: "::1", Port: 4444, Source: "::1"}},
		{"-l -p 4444 localhost", got{Host: "localhost", Port: 4444}},
		// Item 5: brackets, as --addr-file writes them.
		{"[::1] 80", got{Host: "::1", Port: 80}},
		{"-l [::] 0", got{Host: "::", Port: 0}},
		{"-s [::1] ::1 80", got{Host: "::1", Port: 80, Source: "::1"}},
		{"-z [fe80::1%lo] 80", got{Host: "fe80::1%lo"}},
		// Item 7: a -x path is a path.
		{"-x ./127.0.0.1:3128 h 80", got{Host: "h", Port: 80, Hexdmp: "./127.0.0.1:3128"}},
		// Item 8: ncat spellings.
		{"--proxy 127.0.0.1:3128 --proxy-type http h 80", got{Host: "h", Port: 80, Proxy: "http://127.0.0.1:3128"}},
		{"--proxy 127.0.0.1:1080 --proxy-type socks5 h 80", got{Host: "h", Port: 80, Proxy: "socks5://127.0.0.1:1080"}},
		{"--proxy [::1]:1080 --proxy-type SOCKS5 --proxy-auth u:p@ss h 80", got{Host: "h", Port: 80, Proxy: "socks5://u:p%40ss@[::1]:1080"}},
		{"-X socks5h://127.0.0.1:1080 --proxy-type socks5 h 80", got{Host: "h", Port: 80, Proxy: "socks5h://127.0.0.1:1080"}},
		{"--ssl-verify h 443", got{Host: "h", Port: 443, TLS: modes.TLSOptions{Enabled: true}}},
		{"--ssl-trustfile DIR/ca.pem h 443", got{Host: "h", Port: 443, TLS: modes.TLSOptions{Enabled: true, CAFile: "DIR/ca.pem"}}},
		{"-l --ssl-cert DIR/c.pem --ssl-key DIR/k.pem 443", got{Port: 443, TLS: modes.TLSOptions{Enabled: true, CertFile: "DIR/c.pem", KeyFile: "DIR/k.pem"}}},
	}
	dir := t.TempDir()
	writeSelfSigned(t, dir)
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			line := strings.ReplaceAll(tt.line, "DIR", dir)
			want := tt.want
			for _, p := range []*string{&want.TLS.CAFile, &want.TLS.CertFile, &want.TLS.KeyFile} {
				*p = strings.ReplaceAll(*p, "DIR", dir)
			}
			cfg, err := parseConfig(t, line)
			if err != nil {
				t.Fatalf("parse %q: %v", tt.line, err)
			}
			g := got{Host: cfg.Host, Port: cfg.Port, Source: cfg.Net.Source, Proxy: cfg.Proxy, TLS: cfg.TLS, Hexdmp: cfg.Views.Hexdump}
			if diff := cmp.Diff(want, g); diff != "" {
				t.Errorf("%q mismatch (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

// writeSelfSigned writes a self-signed certificate (c.pem, also ca.pem)
// and its key (k.pem) to dir.
func writeSelfSigned(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, b := range map[string][]byte{
		"c.pem": cert, "ca.pem": cert,
		"k.pem": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
