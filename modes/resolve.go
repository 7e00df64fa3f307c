package modes

import (
	"context"

	"github.com/sockcat/sockcat/modes/resolve"
)

// Resolve is `sockcat resolve`: it gathers the local, public and name
// sections that cfg asks for, prints them to stdio.Out (a table, JSON or
// the bare addresses of --short), and returns an error when a name did not
// resolve or --public/--short found no public address.
func Resolve(ctx context.Context, cfg *resolve.Config, stdio Stdio) error {
	rep, err := resolve.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err() // interrupted: print nothing half-gathered
	}
	if err := resolve.Write(stdio.Out, rep, cfg); err != nil {
		return err
	}
	return rep.Err(cfg)
}
