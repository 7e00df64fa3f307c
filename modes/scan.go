package modes

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/sockcat/sockcat/modes/scan"
)

// scanEngine picks the scan engine of -z; the tests set it to run every
// scan test on every engine of the platform (the default: the fastest).
var scanEngine = scan.EngineDefault

// Scan probes HOST over the ports of the PORTSPEC (SPEC §8): a TCP connect
// scan, or a UDP probe with -u, of every resolved address (or the one family
// -4/-6 picks). Open ports go to stdout in port order; -v adds the others on
// stderr with the reason; --json prints one object per port. It returns
// [ErrNoOpenPorts] when no port is open. With --wait-for it probes until
// every port is open or the time is up. The engine is package scan.
func Scan(ctx context.Context, cfg *Config, stdio Stdio) error {
	opts, err := scanOptions(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	err = scan.Run(ctx, opts)
	if errors.Is(err, scan.ErrNoOpenPorts) {
		return ErrNoOpenPorts
	}
	return err
}

// scanOptions resolves HOST and turns the command line into scan options.
// Addresses of the other family than -s are left out with a -v note.
func scanOptions(ctx context.Context, cfg *Config, stdio Stdio) (scan.Options, error) {
	timeout := cfg.Net.Timeout
	if timeout <= 0 {
		timeout = DefaultScanTimeout
	}
	opts := scan.Options{
		Host:        cfg.Host,
		Ports:       cfg.Ports,
		UDP:         cfg.UDP,
		Timeout:     timeout,
		Concurrency: cfg.ScanOp.Concurrency,
		SourcePort:  cfg.Net.SourcePort,
		Verbose:     cfg.Verbose,
		JSON:        cfg.ScanOp.JSON,
		WaitFor:     cfg.ScanOp.WaitFor,
		Control:     control(cfg),
		Engine:      scanEngine,
		Stdout:      stdio.Out,
		Stderr:      stdio.Err,
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if cfg.Net.Source != "" {
		a, err := netip.ParseAddr(cfg.Net.Source)
		if err != nil {
			return opts, fmt.Errorf("source address %q: not an IP address", cfg.Net.Source)
		}
		opts.Source = a.Unmap()
	}
	addrs, err := lookup(ctx, cfg, cfg.Host)
	if err != nil {
		return opts, describe("scan", cfg.Host, err)
	}
	for _, a := range addrs {
		if opts.Source.IsValid() && opts.Source.Is4() != a.Is4() {
			logf(cfg, stdio, "skipping %s: source address %s is of the other family", a, opts.Source)
			continue
		}
		opts.Addrs = append(opts.Addrs, a)
	}
	if len(opts.Addrs) == 0 {
		return opts, fmt.Errorf("scan %s: no address of the family of source address %s", cfg.Host, opts.Source)
	}
	return opts, nil
}
