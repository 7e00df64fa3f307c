package publicip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestEchoClientNoProxy: an HTTP(S)_PROXY would make the echo service
// report the proxy's address (TimothyYe/godns#57), so none is ever used.
// Go already bypasses proxies for loopback, so a live test could not tell;
// the transport is checked instead.
func TestEchoClientNoProxy(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	var mu sync.Mutex
	var ap netip.AddrPort
	tr := echoClient(false, nil, &ap, &mu).Transport.(*http.Transport)
	if tr.Proxy != nil {
		t.Error("echo transport has a proxy function; want none")
	}
}

// TestEchoHTTPS asks an HTTPS echo server on loopback, trusting its
// certificate, the way the default https:// services are asked.
func TestEchoHTTPS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ap := netip.MustParseAddrPort(r.RemoteAddr)
		fmt.Fprintln(w, ap.Addr().Unmap())
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	src := askEcho(ctx, srv.URL, 0, &tls.Config{RootCAs: pool}, false)
	if !src.OK() || src.Address != netip.MustParseAddr("127.0.0.1") || !src.ServerAddr.IsValid() {
		t.Fatalf("askEcho(%s) = %+v, want 127.0.0.1", srv.URL, src)
	}
	// Without the test CA the certificate is refused.
	src = askEcho(ctx, srv.URL, 0, nil, false)
	if src.OK() {
		t.Fatalf("askEcho with system roots = %+v, want a certificate error", src)
	}
}
