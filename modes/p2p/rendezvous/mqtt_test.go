package rendezvous_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sockcat/sockcat/modes/p2p"
	"github.com/sockcat/sockcat/modes/p2p/rendezvous"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeCerts makes a CA and a certificate for 127.0.0.1 signed by it.
func writeCerts(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sockcat test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	for name, block := range map[string]*pem.Block{
		"ca.pem":   {Type: "CERTIFICATE", Bytes: caDER},
		"cert.pem": {Type: "CERTIFICATE", Bytes: der},
		"key.pem":  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool
}

// startMosquitto runs a mosquitto broker on 127.0.0.1 with a plain and a
// TLS listener, stopped by its PID when the test ends.
func startMosquitto(t *testing.T) (plain, tls string, roots *x509.CertPool) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Skip("mosquitto is not installed (apt-get install mosquitto): skipping the MQTT rendezvous tests")
	}
	dir := t.TempDir()
	roots = writeCerts(t, dir)
	p1, p2 := freePort(t), freePort(t)
	conf := fmt.Sprintf("persistence false\nallow_anonymous true\nlog_dest stderr\n"+
		"listener %d 127.0.0.1\n\nlistener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n",
		p1, p2, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if os.Geteuid() == 0 {
		conf = "user root\n" + conf // keep reading the key in our private temp dir
	}
	confPath := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-c", confPath)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for _, p := range []int{p1, p2} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mosquitto did not listen on %d: %s", p, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return fmt.Sprintf("mqtt://127.0.0.1:%d", p1), fmt.Sprintf("mqtts://127.0.0.1:%d", p2), roots
}

type hsResult struct {
	s   *p2p.Secure
	err error
}

func handshakeInto(ctx context.Context, wg *sync.WaitGroup, mb p2p.Mailbox, code p2p.Code, role p2p.Role, out *hsResult) {
	defer wg.Done()
	out.s, out.err = p2p.Handshake(ctx, mb, code, role)
}

// meet runs a full handshake and one message each way over url.
func meet(t *testing.T, url string) (creatorConn, joinerConn *rendezvous.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := rendezvous.Open(ctx, []string{url}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	code, err := p2p.NewCode(a.Nameplate())
	if err != nil {
		t.Fatalf("nameplate %q: %v", a.Nameplate(), err)
	}
	b, err := rendezvous.Open(ctx, []string{url}, code.Nameplate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var c, j hsResult
	var wg sync.WaitGroup
	wg.Add(2)
	go handshakeInto(ctx, &wg, a, code, p2p.RoleCreator, &c)
	go handshakeInto(ctx, &wg, b, code, p2p.RoleJoiner, &j)
	wg.Wait()
	if c.err != nil || j.err != nil {
		t.Fatalf("handshake over %s: creator %v, joiner %v", url, c.err, j.err)
	}
	for i := 0; i < 20; i++ {
		msg := []byte(fmt.Sprintf("message %d", i))
		if err := c.s.Send(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if got, err := j.s.Recv(ctx); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("joiner got %q, %v; want %q", got, err, msg)
		}
	}
	j.s.Send(ctx, []byte("back"))
	if got, err := c.s.Recv(ctx); err != nil || string(got) != "back" {
		t.Fatalf("creator got %q, %v", got, err)
	}
	return a, b
}

func TestMQTTRendezvous(t *testing.T) {
	plain, tlsURL, roots := startMosquitto(t)
	t.Run("mqtt", func(t *testing.T) {
		a, b := meet(t, plain)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// A third holder of the nameplate is refused by the creator.
		third, err := rendezvous.Open(ctx, []string{plain}, a.Nameplate())
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		var re *rendezvous.RefusedError
		if _, err := third.Recv(ctx); !errors.As(err, &re) {
			t.Errorf("third holder: %v, want a refusal", err)
		}
		// Leaving is seen by the other side.
		b.Close()
		if _, err := a.Recv(ctx); !errors.Is(err, rendezvous.ErrPeerGone) {
			t.Errorf("after the joiner left: %v, want ErrPeerGone", err)
		}
	})
	t.Run("mqtts", func(t *testing.T) {
		rendezvous.MQTTRootCAs = roots
		defer func() { rendezvous.MQTTRootCAs = nil }()
		meet(t, tlsURL)
	})
	t.Run("mqtts untrusted", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := rendezvous.Open(ctx, []string{tlsURL}, ""); err == nil {
			t.Fatal("connected to a broker whose certificate is not trusted")
		}
	})
}
