package modes

import (
	"context"
	"errors"
	"net"
)

// dialProxy reaches HOST PORT through the -X proxy.
func dialProxy(ctx context.Context, cfg *Config) (net.Conn, error) {
	return nil, errors.New("-X is not implemented yet")
}

// checkProxy validates the -X URL before any socket exists.
func checkProxy(u string) error { return nil }
