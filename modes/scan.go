package modes

import (
	"context"
	"errors"
)

// Scan probes HOST over the ports of the PORTSPEC (SPEC §8).
func Scan(ctx context.Context, cfg *Config, stdio Stdio) error {
	return errors.New("-z is not implemented yet")
}
