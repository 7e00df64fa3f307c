package main

import (
	"fmt"
	"strings"

	"github.com/sockcat/sockcat/ioutil"
	"github.com/sockcat/sockcat/modes"
	"github.com/sockcat/sockcat/modes/portmap"
	"github.com/sockcat/sockcat/modes/resolve"
	"github.com/urfave/cli/v2"
)

// mapPortFlags are the options of SPEC §14 (--map-port).
func mapPortFlags() []cli.Flag {
	const cat = "Router port mapping"
	return []cli.Flag{
		boolFlag{&cli.BoolFlag{Name: "map-port", Category: cat, Usage: "with -l: ask the router (NAT-PMP, PCP, UPnP) to forward its port to this listener"}, []string{"map-port"}},
		stringFlag{&cli.StringFlag{Name: "map-file", Category: cat, Usage: "write the mapped EXTERNAL_IP:PORT to `FILE`"}, []string{"map-file"}},
		stringFlag{&cli.StringFlag{Name: "map-lease", Category: cat, Usage: "lifetime `DUR` of the mapping, renewed at half-life (default 1h)"}, []string{"map-lease"}},
		sliceFlag{&cli.StringSliceFlag{Name: "stun", Category: cat, Usage: "STUN server `HOST:PORT` for --map-port's double-NAT check and --p2p's mapped addresses (repeatable; none disables)"}, []string{"stun"}},
	}
}

// mapPortConfig reads the --map-port options; problems are appended to
// errs as usage errors. The STUN list (flag, SOCKCAT_STUN, defaults) is
// read only when --map-port is set.
func mapPortConfig(c *cli.Context, getenv func(string) string, errs []error) (modes.MapPortOptions, []error) {
	o := modes.MapPortOptions{Enabled: c.Bool("map-port"), File: c.String("map-file")}
	if c.IsSet("map-lease") {
		d, err := ioutil.ParseDuration(c.String("map-lease"))
		if err == nil && d <= 0 {
			err = fmt.Errorf("invalid duration %q (want a positive duration such as 10m)", c.String("map-lease"))
		}
		if err != nil {
			return o, append(errs, fmt.Errorf("--map-lease: %w", err))
		}
		o.Lease = d
	}
	if o.Enabled && !c.Bool("listen") { // before the positionals, which would complain first
		return o, append(errs, fmt.Errorf("--map-port needs -l: it forwards the router's port to a listener"))
	}
	if !o.Enabled {
		if c.IsSet("stun") && !c.Bool("p2p") {
			errs = append(errs, fmt.Errorf("--stun needs --map-port or --p2p (or use it with resolve)"))
		}
		return o, errs
	}
	stun, err := resolve.ServerList(c.StringSlice("stun"), getenv("SOCKCAT_STUN"), resolve.DefaultSTUN, getenv("SOCKCAT_NO_EXTERNAL") == "1")
	if err != nil {
		return o, append(errs, fmt.Errorf("--stun: %w", err))
	}
	o.STUN = stun
	if o.Methods, err = mapMethods(getenv("SOCKCAT_MAP_METHODS")); err != nil {
		return o, append(errs, err)
	}
	return o, errs
}

// mapMethods reads SOCKCAT_MAP_METHODS: a comma list of natpmp, pcp, upnp
// to try instead of all three ("" = all).
func mapMethods(env string) ([]string, error) {
	if strings.TrimSpace(env) == "" {
		return nil, nil
	}
	names := map[string]string{"natpmp": portmap.MethodNATPMP, "nat-pmp": portmap.MethodNATPMP, "pcp": portmap.MethodPCP, "upnp": portmap.MethodUPnP}
	var out []string
	for _, f := range strings.Split(env, ",") {
		m, ok := names[strings.ToLower(strings.TrimSpace(f))]
		if !ok {
			return nil, fmt.Errorf("SOCKCAT_MAP_METHODS: unknown method %q (want a comma list of natpmp, pcp, upnp)", strings.TrimSpace(f))
		}
		out = append(out, m)
	}
	return out, nil
}
