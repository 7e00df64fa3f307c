package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sockcat/sockcat/modes"
	"github.com/sockcat/sockcat/modes/p2p"
	"github.com/sockcat/sockcat/modes/p2p/rendezvous"
	"github.com/sockcat/sockcat/modes/resolve"
	"github.com/urfave/cli/v2"
)

// p2pFlags are the options of SPEC §15 (--p2p). --stun is shared with
// --map-port and defined there.
func p2pFlags() []cli.Flag {
	const cat = "Peer to peer (--p2p)"
	return []cli.Flag{
		boolFlag{&cli.BoolFlag{Name: "p2p", Category: cat, Usage: "pipe to another machine behind another NAT: without CODE create a code, with CODE join"}, []string{"p2p"}},
		stringFlag{&cli.StringFlag{Name: "code-file", Category: cat, Usage: "--p2p: write the created code to `FILE`"}, []string{"code-file"}},
		sliceFlag{&cli.StringSliceFlag{Name: "rendezvous", Category: cat, Usage: "--p2p: rendezvous `URL` sockcat://HOST:PORT or mqtt(s)://HOST:PORT (repeatable; env SOCKCAT_RENDEZVOUS)"}, []string{"rendezvous"}},
		sliceFlag{&cli.StringSliceFlag{Name: "relay", Category: cat, Usage: "--p2p: TURN relay `URL` turn://USER:PASS@HOST:PORT, used when no direct path works (repeatable; env SOCKCAT_RELAY)"}, []string{"relay"}},
	}
}

// p2pConflicts are the options that make no sense with --p2p.
var p2pConflicts = []string{"listen", "udp", "unix", "scan", "tls", "proxy", "keep-open", "broker", "chat", "port", "source", "allow", "deny", "allow-file", "deny-file", "addr-file", "retry"}

// p2pConfig reads the --p2p options and CODE. Problems are usage errors.
func p2pConfig(c *cli.Context, getenv func(string) string) (modes.P2POptions, error) {
	o := modes.P2POptions{Enabled: c.Bool("p2p"), CodeFile: c.String("code-file")}
	if !o.Enabled {
		for _, f := range []string{"code-file", "rendezvous", "relay"} {
			if c.IsSet(f) {
				return o, fmt.Errorf("--%s needs --p2p", f)
			}
		}
		return o, nil
	}
	for _, f := range p2pConflicts {
		if c.IsSet(f) {
			return o, fmt.Errorf("--p2p cannot be combined with --%s", f)
		}
	}
	if err := p2pCode(c, &o); err != nil {
		return o, err
	}
	o.Rendezvous = listFrom(c.StringSlice("rendezvous"), getenv("SOCKCAT_RENDEZVOUS"))
	if len(o.Rendezvous) == 0 {
		o.Rendezvous = rendezvous.DefaultURLs(getenv) // empty under SOCKCAT_NO_EXTERNAL=1
	}
	if len(o.Rendezvous) == 0 {
		return o, errors.New("--p2p needs a rendezvous: --rendezvous sockcat://HOST:PORT or mqtt://HOST:PORT (SOCKCAT_NO_EXTERNAL=1 empties the built-in list)")
	}
	for _, r := range listFrom(c.StringSlice("relay"), getenv("SOCKCAT_RELAY")) {
		u, err := p2p.ParseRelayURL(r)
		if err != nil {
			return o, fmt.Errorf("--relay: %w", err)
		}
		o.Relays = append(o.Relays, u)
	}
	stun, err := resolve.ServerList(c.StringSlice("stun"), getenv("SOCKCAT_STUN"), resolve.DefaultSTUN, getenv("SOCKCAT_NO_EXTERNAL") == "1")
	if err != nil {
		return o, fmt.Errorf("--stun: %w", err)
	}
	o.STUN = stun
	return o, nil
}

// p2pCode reads the optional CODE argument.
func p2pCode(c *cli.Context, o *modes.P2POptions) error {
	args := c.Args().Slice()
	switch {
	case len(args) > 1:
		return fmt.Errorf("unexpected argument %q (usage: sockcat --p2p [CODE])", args[1])
	case len(args) == 1:
		if _, err := p2p.ParseCode(args[0]); err != nil {
			return fmt.Errorf("--p2p %s: %w", args[0], err)
		}
		if o.CodeFile != "" {
			return errors.New("--code-file writes a created code; it cannot be combined with a CODE to join")
		}
		o.Code = args[0]
	}
	return nil
}

// listFrom is the flag's values, else the environment's comma-separated
// list, with blanks dropped.
func listFrom(flag []string, env string) []string {
	raw := flag
	if len(raw) == 0 && strings.TrimSpace(env) != "" {
		raw = []string{env}
	}
	var out []string
	for _, v := range raw {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
