package modes

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultHandshakeTimeout bounds a TLS handshake when -w is not given, so a
// plaintext or silent peer ends the run instead of hanging it.
const DefaultHandshakeTimeout = 10 * time.Second

// ephemeralValidity is how long the self-signed certificate of a --tls
// listener without --tls-cert is valid. It only has to outlive the process;
// clients pin its fingerprint rather than check its dates.
const ephemeralValidity = 365 * 24 * time.Hour

// unixTLSUsage is the usage error for a -U client with nothing to verify.
const unixTLSUsage = "--tls over -U needs --tls-servername, --tls-pin or --tls-insecure: a socket path is not a name to verify"

// handshakeTimeout is -w when given, else DefaultHandshakeTimeout.
func handshakeTimeout(cfg *Config) time.Duration {
	if cfg.Net.Timeout > 0 {
		return cfg.Net.Timeout
	}
	return DefaultHandshakeTimeout
}

// checkTLS validates the TLS options before any socket exists: the pin's
// format, and that the CA, certificate and key files exist and parse.
func checkTLS(t TLSOptions) error {
	if !t.Enabled {
		return nil
	}
	if t.Pin != "" {
		if _, err := parsePin(t.Pin); err != nil {
			return err
		}
		if t.Insecure {
			return errors.New("--tls-pin and --tls-insecure are mutually exclusive: a pin is a check")
		}
	}
	if t.CAFile != "" {
		if _, err := loadCAs(t.CAFile); err != nil {
			return err
		}
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if _, err := loadKeyPair(t); err != nil {
			return err
		}
	}
	for _, p := range t.ALPN {
		if len(p) > 255 {
			return fmt.Errorf("--tls-alpn: protocol %.20q… is longer than 255 bytes", p)
		}
	}
	return nil
}

// parsePin reads a SHA-256 fingerprint written as 64 hex digits (with or
// without a colon between every byte, either case) or as base64 (standard or
// URL alphabet, padded or not).
func parsePin(s string) ([sha256.Size]byte, error) {
	var pin [sha256.Size]byte
	bad := fmt.Errorf("--tls-pin %q: want a SHA-256 fingerprint: 64 hex digits (colons between bytes allowed) or 44 base64 characters", s)
	h := s
	if strings.Contains(h, ":") {
		parts := strings.Split(h, ":")
		if len(parts) != sha256.Size {
			return pin, bad
		}
		for _, p := range parts {
			if len(p) != 2 {
				return pin, bad
			}
		}
		h = strings.Join(parts, "")
	}
	if len(h) == 2*sha256.Size {
		if _, err := hex.Decode(pin[:], []byte(h)); err != nil {
			return pin, bad
		}
		return pin, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.Strict().DecodeString(s)
		if err == nil && len(b) == sha256.Size {
			copy(pin[:], b)
			return pin, nil
		}
	}
	return pin, bad
}

// fingerprint is the SHA-256 of a DER certificate in the form sockcat
// prints and --tls-pin accepts: 64 lowercase hex digits.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// loadCAs reads the PEM certificates of --tls-ca.
func loadCAs(name string) (*x509.CertPool, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %w", fileReason(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("--tls-ca %s: no PEM certificate found", name)
	}
	return pool, nil
}

// loadKeyPair reads --tls-cert and --tls-key.
func loadKeyPair(t TLSOptions) (tls.Certificate, error) {
	for _, f := range []struct{ flag, name string }{{"--tls-cert", t.CertFile}, {"--tls-key", t.KeyFile}} {
		if _, err := os.Stat(f.name); err != nil {
			return tls.Certificate{}, fmt.Errorf("%s: %w", f.flag, fileReason(err))
		}
	}
	c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("--tls-cert %s / --tls-key %s: %v", t.CertFile, t.KeyFile, err)
	}
	return c, nil
}

// fileReason keeps the path and the reason of a file error, without the
// "open"/"stat" operation.
func fileReason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// pinError reports a peer certificate whose fingerprint is not the pinned one.
type pinError struct{ got string }

func (e *pinError) Error() string {
	return "certificate sha256 " + e.got + " does not match --tls-pin"
}

// verifyPin returns a VerifyConnection hook that accepts exactly the leaf
// certificate pinned by --tls-pin. With roots it also verifies the chain
// (and, for a server, the name), so --tls-ca and --tls-pin combine.
func verifyPin(pin [sha256.Size]byte, roots *x509.CertPool, name string, usage x509.ExtKeyUsage) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("peer sent no certificate (--tls-pin needs one)")
		}
		leaf := cs.PeerCertificates[0]
		sum := sha256.Sum256(leaf.Raw)
		if subtle.ConstantTimeCompare(sum[:], pin[:]) != 1 {
			return &pinError{got: hex.EncodeToString(sum[:])}
		}
		if roots == nil {
			return nil
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: inter, DNSName: name,
			KeyUsages: []x509.ExtKeyUsage{usage},
		})
		return err
	}
}

// clientConfig builds the crypto/tls configuration of a connecting client.
func clientConfig(cfg *Config) (*tls.Config, error) {
	t := cfg.TLS
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		NextProtos:         t.ALPN,
		InsecureSkipVerify: t.Insecure,
	}
	if tc.ServerName == "" && !cfg.Unix { // -U: Host is a path, not a name to verify
		tc.ServerName = cfg.Host
	}
	if tc.ServerName == "" && !t.Insecure && t.Pin == "" {
		return nil, errors.New(unixTLSUsage) // Validate catches it first
	}
	if t.CAFile != "" {
		pool, err := loadCAs(t.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		c, err := loadKeyPair(t)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{c}
	}
	if t.Pin != "" {
		pin, err := parsePin(t.Pin)
		if err != nil {
			return nil, err
		}
		// The pin replaces the system roots; crypto/tls then checks nothing
		// itself and VerifyConnection does all of it.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = verifyPin(pin, tc.RootCAs, tc.ServerName, x509.ExtKeyUsageServerAuth)
	}
	return tc, nil
}

// tlsClient runs the client handshake over conn (SPEC §9), bounded by -w or
// DefaultHandshakeTimeout. On failure it closes conn and returns one line
// naming the peer and the reason.
func tlsClient(ctx context.Context, cfg *Config, stdio Stdio, conn net.Conn) (net.Conn, error) {
	tc, err := clientConfig(cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := tls.Client(conn, tc)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout(cfg))
	defer cancel()
	if err := c.HandshakeContext(hctx); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var cve *tls.CertificateVerificationError
		if errors.As(err, &cve) && len(cve.UnverifiedCertificates) > 0 {
			logPeer(cfg, stdio, cve.UnverifiedCertificates[0])
			var uae x509.UnknownAuthorityError
			if cfg.TLS.Pin == "" && errors.As(err, &uae) {
				fp := fingerprint(cve.UnverifiedCertificates[0].Raw)
				return nil, fmt.Errorf("tls handshake with %s: %w (its sha256 is %s; if you trust it: --tls-pin %s)",
					peerName(conn), handshakeReason(err), fp, fp)
			}
		}
		return nil, handshakeError(peerName(conn), err)
	}
	logState(cfg, stdio, peerName(conn), c.ConnectionState())
	tl := &tlsConn{Conn: c, raw: conn}
	tl.once.Do(func() {}) // the handshake is done
	return tl, nil
}

// handshakeError is the one line for a failed handshake with addr:
// "tls handshake with 127.0.0.1:443: x509: certificate signed by unknown authority".
func handshakeError(addr string, err error) error {
	return fmt.Errorf("tls handshake with %s: %w", addr, handshakeReason(err))
}

// handshakeReason is the part of a handshake error the user needs.
func handshakeReason(err error) error {
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		err = cve.Err // drop crypto/tls's "tls: failed to verify certificate: "
	}
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) && oe.Op == "remote error":
		return &labelled{oe.Error(), err} // "remote error: tls: bad certificate": the peer refused us
	case errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &labelled{"connection closed by the peer (not a TLS peer?)", err}
	}
	return reason(err)
}

// rejectedCert reports a server handshake that a client ended because it
// did not accept the certificate: a certificate alert, or (TLS 1.3, where
// curl and openssl's alert arrives under keys the server no longer
// expects) a bad record MAC.
func rejectedCert(err error) bool {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Err == nil {
		return false
	}
	msg := oe.Err.Error() // crypto/tls's alerts have no exported type to test
	switch oe.Op {
	case "remote error":
		return strings.Contains(msg, "certificate") || strings.Contains(msg, "unknown authority")
	case "local error":
		return strings.HasSuffix(msg, "bad record MAC")
	}
	return false
}

// serverHandshakeError is what reads and writes on a server connection
// return after a failed handshake. Multi-client modes print it after the
// client's address; tlsHandshake names the address itself.
type serverHandshakeError struct{ err error }

func (e *serverHandshakeError) Error() string { return "tls handshake: " + e.err.Error() }
func (e *serverHandshakeError) Unwrap() error { return e.err }

// logState prints the -v lines of a finished handshake: version, cipher
// suite and ALPN, then the peer certificate.
func logState(cfg *Config, stdio Stdio, addr string, cs tls.ConnectionState) {
	if !cfg.Verbose {
		return
	}
	alpn := cs.NegotiatedProtocol
	if alpn == "" {
		alpn = "none"
	}
	logf(cfg, stdio, "tls with %s: %s, %s, alpn %s", addr,
		tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), alpn)
	if len(cs.PeerCertificates) > 0 {
		logPeer(cfg, stdio, cs.PeerCertificates[0])
	} else {
		logf(cfg, stdio, "tls peer certificate: none")
	}
}

// logPeer prints the subject and fingerprint of a peer certificate under -v.
func logPeer(cfg *Config, stdio Stdio, c *x509.Certificate) {
	subject := c.Subject.String()
	if subject == "" {
		subject = "(empty)"
	}
	logf(cfg, stdio, "tls peer certificate: subject %s, sha256 %s", subject, fingerprint(c.Raw))
}

// tlsConn is a TLS connection as the pump needs it. CloseWrite sends
// close_notify and then a FIN, so peers that wait for either see the end of
// stdin (TLS 1.3 allows the half-close, RFC 8446 §6.1). On the server side
// the handshake runs on first use, in the goroutine serving the connection,
// bounded by a timeout; Accept never blocks on a slow client.
type tlsConn struct {
	*tls.Conn
	raw     net.Conn
	timeout time.Duration
	// selfSigned is the fingerprint of the listener's generated certificate
	// ("" with --tls-cert), named when a client rejects it.
	selfSigned string
	after      func(*tls.Conn, error) // called once when the handshake ends
	once       sync.Once
	err        error
}

// handshake runs the server handshake once; every caller gets its result.
func (c *tlsConn) handshake(ctx context.Context) error {
	c.once.Do(func() {
		hctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		if err := c.Conn.HandshakeContext(hctx); err != nil {
			switch {
			case ctx.Err() != nil:
				c.err = ctx.Err()
			case c.selfSigned != "" && rejectedCert(err):
				c.err = &serverHandshakeError{&labelled{fmt.Sprintf(
					"the client rejected this listener's self-signed certificate (%v); a client can trust it with --tls-pin %s (curl: --insecure)",
					handshakeReason(err), c.selfSigned), err}}
			default:
				c.err = &serverHandshakeError{handshakeReason(err)}
			}
			c.raw.Close()
		}
		if c.after != nil {
			c.after(c.Conn, c.err)
		}
	})
	return c.err
}

func (c *tlsConn) Read(p []byte) (int, error) {
	if err := c.handshake(context.Background()); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *tlsConn) Write(p []byte) (int, error) {
	if err := c.handshake(context.Background()); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// CloseWrite sends close_notify, then half-closes the socket.
func (c *tlsConn) CloseWrite() error {
	if err := c.handshake(context.Background()); err != nil {
		return err
	}
	if err := c.Conn.CloseWrite(); err != nil {
		return err
	}
	if cw, ok := c.raw.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tlsHandshake completes the server handshake of a connection accepted by a
// --tls listener, so its failure is reported as one line before any data
// moves. It does nothing for other connections.
func tlsHandshake(ctx context.Context, conn net.Conn) error {
	c, ok := conn.(*tlsConn)
	if !ok {
		return nil
	}
	err := c.handshake(ctx)
	var he *serverHandshakeError
	if errors.As(err, &he) {
		return fmt.Errorf("tls handshake with %s: %w", peerName(c.raw), he.err)
	}
	return err
}

// serverConfig builds the crypto/tls configuration of a --tls listener and
// says whether its certificate was generated.
func serverConfig(cfg *Config) (*tls.Config, bool, error) {
	t := cfg.TLS
	tc := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: t.ALPN}
	generated := t.CertFile == ""
	var cert tls.Certificate
	var err error
	if generated {
		cert, err = selfSigned(cfg.Host)
	} else {
		cert, err = loadKeyPair(t)
	}
	if err != nil {
		return nil, false, err
	}
	tc.Certificates = []tls.Certificate{cert}
	if t.CAFile != "" {
		pool, err := loadCAs(t.CAFile)
		if err != nil {
			return nil, false, err
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if t.VerifyClient {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	if t.Pin != "" {
		// Listening, --tls-pin names the one client certificate accepted.
		pin, err := parsePin(t.Pin)
		if err != nil {
			return nil, false, err
		}
		if tc.ClientAuth == tls.NoClientCert || tc.ClientAuth == tls.VerifyClientCertIfGiven {
			tc.ClientAuth = tls.RequireAnyClientCert
		}
		tc.VerifyConnection = verifyPin(pin, nil, "", x509.ExtKeyUsageClientAuth)
	}
	return tc, generated, nil
}

// selfSigned makes the ephemeral ECDSA P-256 certificate of a --tls listener
// without --tls-cert, valid for localhost, the loopback addresses and host.
func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "sockcat ephemeral"},
		NotBefore:             now.Add(-time.Hour), // tolerate clock skew
		NotAfter:              now.Add(ephemeralValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
	} else if host != "" && ip == nil && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// tlsListener wraps ln so accepted connections speak TLS (SPEC §9). Without
// --tls-cert it generates a self-signed certificate and always prints its
// fingerprint on stderr, one line, for clients to --tls-pin. Accept does not
// handshake: each connection handshakes in the goroutine that serves it,
// within -w or DefaultHandshakeTimeout.
func tlsListener(cfg *Config, stdio Stdio, ln net.Listener) (net.Listener, error) {
	tc, generated, err := serverConfig(cfg)
	if err != nil {
		return nil, err
	}
	fp := fingerprint(tc.Certificates[0].Certificate[0])
	if generated {
		printLine(stdio.Err, "tls: self-signed certificate sha256 %s (for --tls-pin)", fp)
	} else {
		logf(cfg, stdio, "tls: certificate sha256 %s", fp)
	}
	srv := &tlsServer{Listener: ln, cfg: cfg, stdio: stdio, tc: tc}
	if generated {
		srv.selfSigned = fp
	}
	return srv, nil
}

// tlsServer is the listener tlsListener returns.
type tlsServer struct {
	net.Listener
	cfg   *Config
	stdio Stdio
	tc    *tls.Config
	// selfSigned is the generated certificate's fingerprint, "" for --tls-cert.
	selfSigned string
}

// Accept returns the next connection with its handshake still to run.
func (l *tlsServer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tuneTCP(l.cfg, c)
	addr := peerName(c)
	return &tlsConn{
		Conn:       tls.Server(c, l.tc),
		raw:        c,
		timeout:    handshakeTimeout(l.cfg),
		selfSigned: l.selfSigned,
		after: func(tc *tls.Conn, err error) {
			if err == nil { // failures reach whoever reads or writes the connection
				logState(l.cfg, l.stdio, addr, tc.ConnectionState())
			}
		},
	}, nil
}
