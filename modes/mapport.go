package modes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/sockcat/sockcat/modes/portmap"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

// MapPortOptions are --map-port and its companions (SPEC §14).
type MapPortOptions struct {
	Enabled bool          // --map-port: ask the router to forward the listen port
	File    string        // --map-file: write EXTERNAL_IP:PORT here once granted
	Lease   time.Duration // --map-lease: lifetime asked for (0 means portmap.DefaultLease)
	// STUN servers (--stun, SOCKCAT_STUN, the defaults) tell this host's
	// public address for the double-NAT check; empty: only the router's
	// own external address is judged.
	STUN []string
	// Methods limits the methods tried (SOCKCAT_MAP_METHODS), among
	// portmap.Methods; nil: all.
	Methods []string
	// Hooks for tests: where to find the router; zero values mean the
	// default gateway and port 5351.
	Gateway    netip.Addr
	ServerPort uint16
}

// MaxMapLease is the longest --map-lease: UPnP IGD v2's limit (7 days).
const MaxMapLease = 7 * 24 * time.Hour

// checkMapPort is the usage check of the --map-port options.
func checkMapPort(c *Config) error {
	m := c.MapPort
	switch {
	case !m.Enabled && (m.File != "" || m.Lease != 0):
		return errors.New("--map-file and --map-lease need --map-port")
	case !m.Enabled:
		return nil
	case !c.Listen:
		return errors.New("--map-port needs -l: it forwards the router's port to a listener")
	case c.Unix:
		return errors.New("--map-port cannot be combined with -U: a Unix socket has no port to forward")
	case c.Net.Family == Family6:
		return errors.New("--map-port cannot be combined with -6: NAT-PMP, PCP and UPnP mappings are IPv4")
	case m.Lease < 0 || (m.Lease != 0 && m.Lease < time.Second) || m.Lease > MaxMapLease:
		return fmt.Errorf("--map-lease: invalid duration %s (want 1s to %s)", m.Lease, "168h")
	}
	return nil
}

// mapPort starts asking the router for a mapping of the bound listener a
// when --map-port is set, without holding up the listener, and returns what
// the caller defers: it stops the attempt and deletes the mapping.
func mapPort(ctx context.Context, cfg *Config, stdio Stdio, a net.Addr) (cleanup func()) {
	if !cfg.MapPort.Enabled {
		return func() {}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		warnf(stdio, "--map-port: listener address %s: %v", a, err)
		return func() {}
	}
	w := &mapWorker{cfg: cfg, stdio: stdio, bound: ap}
	ctx, w.cancel = context.WithCancel(ctx)
	w.wg.Add(1)
	go w.run(ctx)
	return w.stop
}

// mapWorker owns one --map-port attempt and the mapping it gets.
type mapWorker struct {
	cfg    *Config
	stdio  Stdio
	bound  netip.AddrPort
	cancel context.CancelFunc
	wg     sync.WaitGroup
	m      *portmap.Mapping // set by run; read by stop after wg.Wait
}

func (w *mapWorker) run(ctx context.Context) {
	defer w.wg.Done()
	proto := "tcp"
	if w.cfg.UDP {
		proto = "udp"
	}
	mo := w.cfg.MapPort
	m, err := portmap.Map(ctx, portmap.Options{
		Proto: proto, Port: w.bound.Port(), Bound: w.bound.Addr().Unmap(), Lease: mo.Lease,
		Gateway: mo.Gateway, ServerPort: mo.ServerPort, Methods: mo.Methods,
		OnRenewError: func(err error) { warnf(w.stdio, "%v", err) },
		OnRenew: func(d time.Duration) {
			logf(w.cfg, w.stdio, "renewed the port mapping (lease %s)", formatLease(d))
		},
	})
	if err != nil {
		if ctx.Err() == nil {
			warnf(w.stdio, "--map-port: %v; listening for local peers only", err)
		}
		return
	}
	w.m = m
	lease := "permanent"
	if m.Lease > 0 {
		lease = formatLease(m.Lease)
	}
	fmt.Fprintf(w.stdio.Err, "sockcat: reachable from the internet at %s (%s, lease %s)\n", m.External(), m.Method, lease)
	if mo.File != "" {
		if err := WriteFileAtomic(mo.File, m.External().String()+"\n"); err != nil {
			warnf(w.stdio, "--map-file: %v", err)
		}
	}
	w.checkDoubleNAT(ctx, m.ExternalIP)
}

// checkDoubleNAT warns when the router's external address is not where
// internet peers reach this host.
func (w *mapWorker) checkDoubleNAT(ctx context.Context, ext netip.Addr) {
	var public netip.Addr
	if why := portmap.DoubleNAT(ext, public); why != "" {
		warnf(w.stdio, "double NAT: %s, so the mapping does not make this host reachable from the internet", why)
		return
	}
	if len(w.cfg.MapPort.STUN) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, portmap.DefaultTimeout)
	defer cancel()
	r := publicip.Discover(ctx, publicip.Config{STUN: w.cfg.MapPort.STUN}, false)
	if !r.Address.IsValid() {
		logf(w.cfg, w.stdio, "double-NAT check: STUN found no public address (%s)", r.Status)
		return
	}
	logf(w.cfg, w.stdio, "double-NAT check: STUN sees this host as %s", r.Address)
	if why := portmap.DoubleNAT(ext, r.Address); why != "" {
		warnf(w.stdio, "double NAT: %s, so the mapping does not make this host reachable from the internet", why)
	}
}

// stop ends the attempt, then deletes the mapping; a failed deletion is
// one warning.
func (w *mapWorker) stop() {
	w.cancel()
	w.wg.Wait()
	if w.m == nil {
		return
	}
	if err := w.m.Close(); err != nil {
		warnf(w.stdio, "%v", err)
	}
}

// formatLease prints 1h, 30m, 1h30m, 90s rather than 1h0m0s.
func formatLease(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
