package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/sockcat/sockcat/ioutil"
	"github.com/sockcat/sockcat/modes"
	"github.com/sockcat/sockcat/modes/resolve"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
	"github.com/urfave/cli/v2"
)

// resolveCommand is `sockcat resolve [options] [NAME[:PORT] ...]`.
func resolveCommand(stdio modes.Stdio, usage cli.OnUsageErrorFunc) *cli.Command {
	return &cli.Command{
		Name:      "resolve",
		Usage:     "show local, outbound and public addresses; look up names",
		ArgsUsage: "[NAME[:PORT] ...]",
		Description: "Without names: which address to bind, which address LAN peers dial, and which\n" +
			"address internet peers dial (STUN, DNS whoami, HTTPS echo), per family.\n" +
			"With names: CNAME, A, AAAA, hosts-file entries and the dial order.\n\n" +
			"Environment: SOCKCAT_STUN, SOCKCAT_DNS_WHOAMI, SOCKCAT_HTTP_ECHO (comma lists, as\n" +
			"the flags); SOCKCAT_NO_EXTERNAL=1 empties the default lists and refuses servers\n" +
			"off this host.\n\n" +
			"Exit status: 0 everything asked for was found; 1 a name did not resolve, or\n" +
			"--public/--short found no public address; 2 usage error.",
		OnUsageError:    usage,
		HideHelpCommand: true,
		Flags:           resolveFlags(),
		Action: func(c *cli.Context) error {
			cfg, err := resolveConfig(c, os.Getenv)
			if err != nil {
				return usageError{err}
			}
			return modes.Resolve(c.Context, cfg, stdio)
		},
	}
}

func resolveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "4", Usage: "IPv4 only"},
		&cli.BoolFlag{Name: "6", Usage: "IPv6 only"},
		&cli.BoolFlag{Name: "local", Usage: "show the local section (interfaces, primary address)"},
		&cli.BoolFlag{Name: "public", Usage: "show the public section; exit 1 when no public address is found"},
		&cli.BoolFlag{Name: "no-public", Usage: "never send anything off this host"},
		&cli.BoolFlag{Name: "short", Usage: "print only the public addresses, one a line"},
		&cli.BoolFlag{Name: "json", Usage: "print JSON (schema " + resolve.Schema + ")"},
		&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show every source; reverse names"},
		&cli.BoolFlag{Name: "all-interfaces", Usage: "also list down, loopback and tunnel-only interfaces"},
		&cli.StringFlag{Name: "timeout", Value: "3s", Usage: "public discovery deadline `DUR` (a bare number is seconds)"},
		&cli.StringSliceFlag{Name: "stun", Usage: "STUN server `HOST:PORT` (repeatable; none disables)"},
		&cli.StringSliceFlag{Name: "dns-whoami", Usage: "DNS whoami source `KIND@SERVER`, KIND " + strings.Join(publicip.WhoamiKinds, "|") + " (repeatable; none disables)"},
		&cli.StringSliceFlag{Name: "http-echo", Usage: "HTTPS echo `URL` (repeatable; none disables)"},
		&cli.StringFlag{Name: "dns-server", Usage: "look names up by asking `HOST:PORT` directly"},
		&cli.BoolFlag{Name: "no-portmap", Usage: "do not ask the gateway whether it offers NAT-PMP, PCP or UPnP (also SOCKCAT_NO_PORTMAP=1)"},
	}
}

// resolveConfig turns the flags and environment into a validated config.
// Every error is a usage error.
func resolveConfig(c *cli.Context, getenv func(string) string) (*resolve.Config, error) {
	timeout, err := ioutil.ParseDuration(c.String("timeout"))
	if err != nil {
		return nil, fmt.Errorf("bad --timeout %q: want a duration such as 3s or 500ms, or seconds", c.String("timeout"))
	}
	cfg := &resolve.Config{
		Only4:         c.Bool("4"),
		Only6:         c.Bool("6"),
		Local:         c.Bool("local"),
		Public:        c.Bool("public"),
		NoPublic:      c.Bool("no-public"),
		Short:         c.Bool("short"),
		JSON:          c.Bool("json"),
		Verbose:       c.Bool("verbose"),
		AllInterfaces: c.Bool("all-interfaces"),
		Timeout:       timeout,
		DNSServer:     c.String("dns-server"),
		NoExternal:    getenv("SOCKCAT_NO_EXTERNAL") == "1",
		Names:         c.Args().Slice(),
		NoPortmap:     c.Bool("no-portmap") || getenv("SOCKCAT_NO_PORTMAP") == "1",
	}
	if cfg.STUN, err = resolve.ServerList(c.StringSlice("stun"), getenv("SOCKCAT_STUN"), resolve.DefaultSTUN, cfg.NoExternal); err != nil {
		return nil, fmt.Errorf("bad stun list: %w", err)
	}
	whoami, err := resolve.ServerList(c.StringSlice("dns-whoami"), getenv("SOCKCAT_DNS_WHOAMI"), resolve.DefaultDNSWhoami, cfg.NoExternal)
	if err != nil {
		return nil, fmt.Errorf("bad dns whoami list: %w", err)
	}
	for _, s := range whoami {
		w, err := publicip.ParseWhoami(s)
		if err != nil {
			return nil, err
		}
		cfg.Whoami = append(cfg.Whoami, w)
	}
	if cfg.HTTPEcho, err = resolve.ServerList(c.StringSlice("http-echo"), getenv("SOCKCAT_HTTP_ECHO"), resolve.DefaultHTTPEcho, cfg.NoExternal); err != nil {
		return nil, fmt.Errorf("bad http echo list: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}
