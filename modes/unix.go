package modes

import (
	"context"
	"errors"
	"net"
)

// ConnectUnix connects to the Unix stream socket at PATH.
func ConnectUnix(ctx context.Context, cfg *Config, stdio Stdio) error {
	return errors.New("-U is not implemented yet")
}

func listenUnix(ctx context.Context, cfg *Config) (net.Listener, error) {
	return nil, errors.New("-U is not implemented yet")
}

func dialUnixgram(ctx context.Context, cfg *Config) (net.Conn, error) {
	return nil, errors.New("-U is not implemented yet")
}

func listenUnixgram(ctx context.Context, cfg *Config) (net.Conn, error) {
	return nil, errors.New("-U is not implemented yet")
}

// joinGroups joins the --join multicast groups on a UDP listener.
func joinGroups(cfg *Config, stdio Stdio, c net.Conn) error {
	if len(cfg.Net.Join) > 0 {
		return errors.New("--join is not implemented yet")
	}
	return nil
}
