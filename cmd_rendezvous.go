package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sockcat/sockcat/modes"
	"github.com/sockcat/sockcat/modes/p2p/rendezvous"
	"github.com/urfave/cli/v2"
)

// rendezvousCommand is `sockcat rendezvous [options] [HOST] PORT`: the
// meeting point for --p2p (sockcat://HOST:PORT).
func rendezvousCommand(stdio modes.Stdio, usage cli.OnUsageErrorFunc) *cli.Command {
	d := rendezvous.DefaultServerConfig()
	return &cli.Command{
		Name:      "rendezvous",
		Usage:     "run a rendezvous server for --p2p (clients use sockcat://HOST:PORT)",
		ArgsUsage: "[HOST] PORT",
		Description: "Pairs the two holders of a nameplate and passes their messages, which it\n" +
			"cannot read: it sees nameplates and PAKE messages, never a code's words or the\n" +
			"data. Everything is in memory. Bounds: an unclaimed nameplate expires after " + d.UnclaimedTTL.String() + ",\n" +
			"a claimed one after " + d.Lifetime.String() + "; a nameplate is claimed once; messages up to " +
			strconv.Itoa(d.MaxMessage>>10) + " KiB;\n" +
			strconv.Itoa(d.ConnsPerAddr) + " connections and " + strconv.FormatFloat(d.MsgRate, 'f', -1, 64) +
			" messages a second per client address.\n\n" +
			"Exit status: 1 cannot listen; 2 usage error; 130 interrupted.",
		OnUsageError:    usage,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr-file", Usage: "write the bound address to `FILE` once listening"},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log every allocation, claim, refusal and expiry"},
		},
		Action: func(c *cli.Context) error {
			addr, err := rendezvousAddr(c.Args().Slice())
			if err != nil {
				return usageError{err}
			}
			return runRendezvous(c.Context, addr, c.String("addr-file"), c.Bool("verbose"), stdio)
		},
	}
}

// rendezvousAddr turns [HOST] PORT into a listen address.
func rendezvousAddr(args []string) (string, error) {
	if len(args) < 1 || len(args) > 2 {
		return "", errors.New("rendezvous wants [HOST] PORT")
	}
	host, port := "", args[len(args)-1]
	if len(args) == 2 {
		host = strings.TrimSuffix(strings.TrimPrefix(args[0], "["), "]")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("bad port %q: want a number from 0 to 65535", port)
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), nil
}

// runRendezvous listens and serves until interrupted.
func runRendezvous(ctx context.Context, addr, addrFile string, verbose bool, stdio modes.Stdio) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("rendezvous: listen on %s: %w", addr, err)
	}
	cfg := rendezvous.DefaultServerConfig()
	if verbose {
		cfg.Logf = func(format string, args ...any) { fmt.Fprintf(stdio.Err, "sockcat: "+format+"\n", args...) }
		cfg.Logf("rendezvous: listening on %s", boundAddr(ln.Addr()))
	}
	if addrFile != "" {
		if err := modes.WriteFileAtomic(addrFile, boundAddr(ln.Addr())+"\n"); err != nil {
			ln.Close()
			return err
		}
	}
	if err := rendezvous.NewServer(cfg).Serve(ctx, ln); err != nil {
		return err
	}
	return ctx.Err() // nil unless interrupted
}

func boundAddr(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	return a.String()
}
