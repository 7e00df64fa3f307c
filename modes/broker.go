package modes

import (
	"context"
	"errors"
)

// Broker relays every client's bytes to every other client (SPEC §5).
func Broker(ctx context.Context, cfg *Config, stdio Stdio) error {
	return errors.New("--broker is not implemented yet")
}
