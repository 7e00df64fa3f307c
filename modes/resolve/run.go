package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sockcat/sockcat/modes/portmap"
	"github.com/sockcat/sockcat/modes/resolve/netinfo"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
)

// Report is everything `sockcat resolve` found. Renderers read it and
// nothing else.
type Report struct {
	Time     time.Time
	Hostname string

	ShowLocal, ShowPublic, ShowNames bool   // sections asked for
	Families                         []bool // false = IPv4, true = IPv6, in display order
	Verbose, AllInterfaces           bool
	Short                            bool

	Interfaces []netinfo.Interface
	Primary    [2]Primary // [0] IPv4, [1] IPv6
	Public     [2]*publicip.Result
	NAT        [2]*publicip.NAT
	// PublicConfigured is false when every server list is empty, so
	// "not-found" means "not asked" rather than "every method failed".
	PublicConfigured bool
	Hints            []string
	Names            []NameResult
	Portmap          *portmap.ProbeResult // nil when not gathered (--no-portmap, --short, names only)
}

// Primary is the outbound address of one family.
type Primary struct {
	Addr      netip.Addr // invalid when the family has no route
	Interface string     // interface holding Addr; empty when unknown
	Err       string     // why there is none, e.g. "connect: network is unreachable"
}

// ErrNoPublicAddress is returned when --public or --short found no public
// address in any family asked for.
var ErrNoPublicAddress = errors.New("no public address found")

// Err is the error the command exits with after printing the report: a
// name that did not resolve, or no public address when --public/--short
// asked for one.
func (r *Report) Err(cfg *Config) error {
	failed := 0
	for _, n := range r.Names {
		if !n.OK() {
			failed++
		}
	}
	if failed > 0 {
		if len(r.Names) == 1 {
			return errors.New(r.Names[0].Err)
		}
		return fmt.Errorf("%d of %d names did not resolve", failed, len(r.Names))
	}
	if cfg.Short || (cfg.Public && !cfg.NoPublic) {
		for _, p := range r.Public {
			if p != nil && p.Address.IsValid() {
				return nil
			}
		}
		if why := NoPublicReason(r); why != "" {
			return fmt.Errorf("%w (%s)", ErrNoPublicAddress, why)
		}
		return ErrNoPublicAddress
	}
	return nil
}

// Run gathers the report that cfg asks for. It returns an error only when
// nothing useful can be printed (the interface list failed); a name that
// does not resolve or a public address not found is in the report.
func Run(ctx context.Context, cfg *Config) (*Report, error) {
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	r := &Report{Time: now().UTC(), Families: cfg.families(), Verbose: cfg.Verbose, AllInterfaces: cfg.AllInterfaces, Short: cfg.Short}
	r.ShowLocal, r.ShowPublic, r.ShowNames = cfg.Sections()
	hostname := os.Hostname
	if cfg.Hostname != nil {
		hostname = cfg.Hostname
	}
	r.Hostname, _ = hostname()

	if r.ShowLocal || r.ShowPublic || r.ShowNames {
		if err := gatherLocal(cfg, r); err != nil {
			return nil, err
		}
	}
	var pm sync.WaitGroup
	if wantPortmap(cfg, r) { // at the same time as public discovery
		pm.Go(func() { gatherPortmap(ctx, cfg, r) })
	}
	if r.ShowPublic {
		gatherPublic(ctx, cfg, r)
	}
	pm.Wait()
	if r.ShowNames {
		gatherNames(ctx, cfg, r)
	}
	r.Hints = hints(cfg, r)
	return r, nil
}

// gatherLocal lists the interfaces and probes the route of each family.
func gatherLocal(cfg *Config, r *Report) error {
	lister := netinfo.Lister(netinfo.SystemInterfaces)
	if cfg.Lister != nil {
		lister = cfg.Lister
	}
	raw, err := lister()
	if err != nil {
		return err
	}
	v6flags := netinfo.SystemV6Flags
	if cfg.V6Flags != nil {
		v6flags = cfg.V6Flags
	}
	r.Interfaces = netinfo.Describe(raw, v6flags())
	if cfg.Only4 || cfg.Only6 {
		for i := range r.Interfaces {
			ifc := &r.Interfaces[i]
			var keep []netinfo.Addr
			for _, a := range ifc.Addrs {
				if a.Addr.Is6() == cfg.Only6 {
					keep = append(keep, a)
				}
			}
			ifc.Addrs = keep
		}
	}
	probe := netinfo.RouteProbe
	if cfg.RouteProbe != nil {
		probe = cfg.RouteProbe
	}
	for _, v6 := range r.Families {
		p := &r.Primary[fam(v6)]
		a, err := probe(v6)
		if err != nil {
			p.Err = strings.TrimPrefix(err.Error(), "route probe: ")
			continue
		}
		p.Addr = a
		for _, ifc := range r.Interfaces {
			for _, ad := range ifc.Addrs {
				if ad.Addr.WithZone("") == a {
					p.Interface = ifc.Name
				}
			}
		}
	}
	return nil
}

func fam(v6 bool) int {
	if v6 {
		return 1
	}
	return 0
}

// gatherPublic runs discovery for the families at once, under one deadline.
func gatherPublic(ctx context.Context, cfg *Config, r *Report) {
	pc := publicip.Config{
		STUN:   cfg.STUN,
		Whoami: cfg.Whoami,
		HTTP:   cfg.HTTPEcho,
		Timing: cfg.Timing,
		Lookup: cfg.Lookup,
		TLS:    cfg.TLS,
	}
	r.PublicConfigured = len(pc.STUN)+len(pc.Whoami)+len(pc.HTTP) > 0
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var local []netip.Addr
	for _, ifc := range r.Interfaces {
		for _, a := range ifc.Addrs {
			local = append(local, a.Addr)
		}
	}
	var wg sync.WaitGroup
	for _, v6 := range r.Families {
		wg.Go(func() {
			res := publicip.Discover(ctx, pc, v6)
			p := r.Primary[fam(v6)]
			nat := publicip.Verdict(res, local, p.Addr, p.Interface)
			r.Public[fam(v6)] = &res
			r.NAT[fam(v6)] = &nat
		})
	}
	wg.Wait()
}

// gatherNames resolves every name argument.
func gatherNames(ctx context.Context, cfg *Config, r *Report) {
	var res nameResolver = systemResolver{r: netResolver(cfg)}
	retry := cfg.Timing.DNSRetry
	if retry <= 0 {
		retry = publicip.DefaultDNSRetry
	}
	if cfg.DNSServer != "" {
		res = directResolver{server: cfg.DNSServer, retry: retry}
	}
	hosts := readHosts(cfg.HostsFile)
	v6First := r.Primary[1].Addr.IsValid() && !cfg.Only4
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r.Names = make([]NameResult, len(cfg.Names))
	var wg sync.WaitGroup
	for i, n := range cfg.Names {
		wg.Go(func() { r.Names[i] = lookupName(ctx, n, res, hosts, r.Families, v6First, cfg.Verbose) })
	}
	wg.Wait()
}
