package modes

import (
	"context"
	"errors"
	"net"
)

// serveKeepOpen serves clients concurrently under -k (SPEC §5).
func serveKeepOpen(ctx context.Context, cfg *Config, ln net.Listener, f *filter, stdio Stdio) error {
	return errors.New("-k is not implemented yet")
}
