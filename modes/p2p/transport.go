package p2p

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"time"

	"github.com/quic-go/quic-go"
)

// alpn is the TLS application protocol of the p2p stream.
const alpn = "sockcat-p2p/1"

// Keepalives hold the NAT mappings (UDP mappings often expire after 30 s);
// the idle timeout ends a connection whose peer vanished.
const (
	keepAlive   = 10 * time.Second
	idleTimeout = 45 * time.Second
)

// identity is an ephemeral self-signed certificate and its fingerprint.
type identity struct {
	cert tls.Certificate
	fp   [fingerprintSize]byte
}

// newIdentity makes a fresh Ed25519 certificate. It is never stored: the
// peer pins its SHA-256, received inside the PAKE-keyed mailbox.
func newIdentity() (*identity, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"sockcat-p2p"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	return &identity{
		cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv},
		fp:   sha256.Sum256(der),
	}, nil
}

var errPin = errors.New("the peer's certificate does not match the fingerprint it sent through the code's channel")

// pinned verifies that the peer presented exactly the certificate whose
// fingerprint came through the mailbox.
func pinned(fp [fingerprintSize]byte) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) != 1 {
			return errPin
		}
		got := sha256.Sum256(raw[0])
		if !bytes.Equal(got[:], fp[:]) {
			return errPin
		}
		return nil
	}
}

// tlsConfig is TLS 1.3 with our certificate and the peer's pinned; the
// ordinary chain checks are replaced by the pin.
func tlsConfig(id *identity, peer [fingerprintSize]byte, server bool) *tls.Config {
	c := &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{id.cert},
		NextProtos:            []string{alpn},
		InsecureSkipVerify:    true, // replaced by VerifyPeerCertificate: the pin
		VerifyPeerCertificate: pinned(peer),
		ServerName:            "sockcat-p2p",
	}
	if server {
		c.ClientAuth = tls.RequireAnyClientCert
	}
	return c
}

// quicConfig: keepalives and windows large enough for a long fat path.
func quicConfig() *quic.Config {
	return &quic.Config{
		KeepAlivePeriod:                keepAlive,
		MaxIdleTimeout:                 idleTimeout,
		HandshakeIdleTimeout:           10 * time.Second,
		InitialStreamReceiveWindow:     4 << 20,
		MaxStreamReceiveWindow:         32 << 20,
		InitialConnectionReceiveWindow: 8 << 20,
		MaxConnectionReceiveWindow:     48 << 20,
		MaxIncomingStreams:             1,
		MaxIncomingUniStreams:          1,
	}
}

func init() {
	// quic-go prints a warning with the log package when it cannot raise
	// the socket buffers; sockcat's stderr carries only its own lines.
	if os.Getenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING") == "" {
		os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	}
}

// streamHello is the first byte on the stream: QUIC shows a stream to the
// peer only once something is sent on it.
const streamHello = 0x53

// dialStream opens the connection and the one stream from the joiner's side.
func dialStream(ctx context.Context, sock *pathSocket, ch choice, tc *tls.Config) (*quic.Conn, *quic.Stream, error) {
	qc, err := sock.tr.Dial(ctx, udpAddr(ch.remote), tc, quicConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("quic handshake with %s: %w", ch.remote, err)
	}
	st, err := qc.OpenStreamSync(ctx)
	if err == nil {
		_, err = st.Write([]byte{streamHello})
	}
	if err == nil {
		err = readHello(ctx, st) // the creator's answer: it accepted our certificate too
	}
	if err != nil {
		qc.CloseWithError(codeReset, "")
		return nil, nil, fmt.Errorf("open stream to %s: %w", ch.remote, err)
	}
	return qc, st, nil
}

// acceptStream waits for the joiner's stream on an accepted connection.
func acceptStream(ctx context.Context, qc *quic.Conn) (*quic.Stream, error) {
	st, err := qc.AcceptStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("accept stream from %s: %w", qc.RemoteAddr(), err)
	}
	err = readHello(ctx, st)
	if err == nil {
		_, err = st.Write([]byte{streamHello})
	}
	if err != nil {
		st.CancelRead(streamReset)
		st.CancelWrite(streamReset)
		return nil, fmt.Errorf("accept stream from %s: %w", qc.RemoteAddr(), err)
	}
	return st, nil
}

// readHello reads the stream's first byte, bounded by ctx and dialTimeout.
func readHello(ctx context.Context, st *quic.Stream) error {
	dl := time.Now().Add(dialTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	st.SetReadDeadline(dl)
	defer st.SetReadDeadline(time.Time{})
	var b [1]byte
	if _, err := io.ReadFull(st, b[:]); err != nil {
		return err
	}
	if b[0] != streamHello {
		return errors.New("bad stream start")
	}
	return nil
}
