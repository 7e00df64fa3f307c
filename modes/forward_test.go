package modes

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseForward(t *testing.T) {
	tests := []struct {
		in      string
		udp     bool
		want    forwardTarget
		wantErr bool
	}{
		{in: "127.0.0.1:22", want: forwardTarget{network: "tcp", addr: "127.0.0.1:22", host: "127.0.0.1", port: 22}},
		{in: "[::1]:8080", want: forwardTarget{network: "tcp", addr: "[::1]:8080", host: "::1", port: 8080}},
		{in: "localhost:53", udp: true, want: forwardTarget{network: "udp", addr: "localhost:53", host: "localhost", port: 53}},
		{in: "unix:/run/x.sock", want: forwardTarget{network: "unix", addr: "/run/x.sock", host: "/run/x.sock"}},
		{in: "unix:", wantErr: true},
		{in: "unix:/x", udp: true, wantErr: true},
		{in: "nocolon", wantErr: true},
		{in: ":80", wantErr: true},
		{in: "host:0", wantErr: true},
		{in: "host:65536", wantErr: true},
		{in: "::1:80", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseForward(tt.in, tt.udp)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseForward(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(forwardTarget{})); diff != "" {
				t.Errorf("parseForward(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func FuzzParseForward(f *testing.F) {
	for _, s := range []string{"127.0.0.1:22", "[::1]:8080", "unix:/x", "h:0", "nocolon", "[::1]", "unix:"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, udp bool) {
		got, err := parseForward(s, udp)
		if err != nil {
			return
		}
		switch got.network {
		case "unix":
			if udp || got.addr == "" {
				t.Fatalf("parseForward(%q, %t) = %+v", s, udp, got)
			}
		case "tcp", "udp":
			if got.port < 1 || got.port > 65535 || got.host == "" {
				t.Fatalf("parseForward(%q, %t) = %+v: bad port or host", s, udp, got)
			}
			if _, _, err := net.SplitHostPort(got.addr); err != nil {
				t.Fatalf("parseForward(%q, %t): addr %q does not split: %v", s, udp, got.addr, err)
			}
		default:
			t.Fatalf("parseForward(%q, %t): network %q", s, udp, got.network)
		}
	})
}

// TestForwardSHA256: 8 MiB each way through -l -k --forward to a target
// that sends its own 6 MiB and reads to EOF; both arrive whole (sha256),
// the half-closes pass through, and ten clients at once each get their own.
func TestForwardSHA256(t *testing.T) {
	const up, down, clients = 8 << 20, 6 << 20, 10
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	got := make(chan [32]byte, clients)
	go serveTarget(target, payloadFor(0, 1, down, 3), got)

	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Forward = target.Addr().String()
	srv := startServer(t, cfg, Stdio{In: bytes.NewReader(nil), Out: io.Discard, Err: io.Discard})
	want := payloadFor(0, 1, up, 4)
	errc := make(chan error, clients)
	for range clients {
		go func() { errc <- forwardClient(srv.addr, want, payloadFor(0, 1, down, 3)) }()
	}
	for range clients {
		if err := <-errc; err != nil {
			t.Error(err)
		}
		select {
		case sum := <-got:
			if sum != sha256.Sum256(want) {
				t.Error("the target received other bytes than the client sent (sha256 differs)")
			}
		case <-time.After(srvWait):
			t.Fatal("the target never saw the client's EOF")
		}
	}
}

// serveTarget answers each connection with down and reports the sha256 of
// what it read up to EOF.
func serveTarget(ln net.Listener, down []byte, got chan<- [32]byte) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			wrote := make(chan struct{})
			go func() { // the target's own data, then its FIN
				defer close(wrote)
				c.Write(down)
				c.(*net.TCPConn).CloseWrite()
			}()
			h := sha256.New()
			io.Copy(h, c)
			<-wrote // the client's EOF may come first: close only once all is sent
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			got <- sum
		}()
	}
}

// forwardClient sends up, half-closes and checks that it reads want.
func forwardClient(addr string, up, want []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(srvWait))
	go func() {
		c.Write(up)
		c.(*net.TCPConn).CloseWrite()
	}()
	h := sha256.New()
	if _, err := io.Copy(h, c); err != nil {
		return err
	}
	if sum := sha256.Sum256(want); !bytes.Equal(h.Sum(nil), sum[:]) {
		return errors.New("a client received other bytes than the target sent (sha256 differs)")
	}
	return nil
}
