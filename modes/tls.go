package modes

import (
	"context"
	"errors"
	"net"
)

// tlsClient runs the client handshake over conn (SPEC §9).
func tlsClient(ctx context.Context, cfg *Config, stdio Stdio, conn net.Conn) (net.Conn, error) {
	conn.Close()
	return nil, errors.New("--tls is not implemented yet")
}

// tlsListener wraps ln so accepted connections speak TLS.
func tlsListener(cfg *Config, stdio Stdio, ln net.Listener) (net.Listener, error) {
	return nil, errors.New("--tls is not implemented yet")
}

// checkTLS validates the TLS options before any socket exists.
func checkTLS(t TLSOptions) error { return nil }
