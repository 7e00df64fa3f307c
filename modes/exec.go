package modes

import (
	"context"
	"errors"
	"net"
)

// execConn runs -e/-c with conn as the program's stdin and stdout.
func execConn(ctx context.Context, cfg *Config, conn net.Conn, stdio Stdio) error {
	return errors.New("--exec is not implemented yet")
}
