package modes

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStalledHandshakesDoNotStarve: twenty clients that connect to a --tls
// -k listener (-m 5) and never send a ClientHello do not lock out a client
// that completes its handshake: it is served at once, not after the 10s
// handshake timeout (issue 10, defect 9).
func TestStalledHandshakesDoNotStarve(t *testing.T) {
	out := &srvBuffer{}
	errb := &srvBuffer{}
	cfg := listenCfg()
	cfg.TLS.Enabled = true
	cfg.Serve.KeepOpen = true
	cfg.Serve.MaxConns = 5
	cfg.Verbose = true
	inR, inW := io.Pipe()
	defer inW.Close()
	srv := startServer(t, cfg, Stdio{In: inR, Out: out, Err: errb})
	for range 20 {
		c := dial(t, "tcp", srv.addr) // silent: the handshake stalls
		defer c.Close()
	}
	start := time.Now()
	d := &net.Dialer{Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", srv.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("a client that completes its handshake: %v", err)
	}
	defer c.Close()
	c.Write([]byte("served\n"))
	out.waitFor(t, "served\n")
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("served after %v, want at once", d)
	}
	if strings.Contains(errb.String(), "refused connection from "+c.LocalAddr().String()) {
		t.Error("the completing client was refused")
	}
}

// TestRefusedClientIsReset: a client over the -m cap sees a reset, not an
// ordinary close (SPEC §5).
func TestRefusedClientIsReset(t *testing.T) {
	errb := &srvBuffer{}
	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Serve.MaxConns = 1
	cfg.Verbose = true
	inR, inW := io.Pipe()
	defer inW.Close()
	srv := startServer(t, cfg, Stdio{In: inR, Out: io.Discard, Err: errb})
	first := dial(t, "tcp", srv.addr)
	defer first.Close()
	errb.waitFor(t, "(1 connected)")
	c, err := net.Dial("tcp", srv.addr)
	if err == nil {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(srvWait))
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("refused client: %v, want connection reset", err)
	}
}
