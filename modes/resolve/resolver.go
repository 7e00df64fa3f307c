package resolve

import "net"

// netResolver returns the resolver of name lookups without --dns-server:
// the default one, or, under SOCKCAT_NO_EXTERNAL=1, one that reads the hosts
// file but sends no query to a DNS server off this host.
func netResolver(cfg *Config) *net.Resolver {
	if cfg.NoExternal {
		return noExternalResolver()
	}
	return net.DefaultResolver
}
