package main

import (
	"errors"

	"github.com/sockcat/sockcat/modes"
	"github.com/urfave/cli/v2"
)

// resolveCommand is `sockcat resolve` (placeholder until the command lands).
func resolveCommand(stdio modes.Stdio, usage cli.OnUsageErrorFunc) *cli.Command {
	return &cli.Command{
		Name:         "resolve",
		Usage:        "show local, outbound and public addresses; look up names",
		OnUsageError: usage,
		Action: func(c *cli.Context) error {
			return errors.New("resolve is not implemented yet")
		},
	}
}
