package modes

import (
	"context"
	"net/netip"
)

// Connect dials HOST PORT over TCP (or a Unix stream with -U) and pumps stdio
// through it (SPEC §3).
func Connect(ctx context.Context, cfg *Config, stdio Stdio) error {
	if cfg.Unix {
		return ConnectUnix(ctx, cfg, stdio)
	}
	conn, err := dialStream(ctx, cfg, stdio)
	if err != nil {
		return err
	}
	logf(cfg, stdio, "connected to %s", peerName(conn))
	if cfg.TLS.Enabled {
		conn, err = tlsClient(ctx, cfg, stdio, conn)
		if err != nil {
			return err
		}
	}
	return serveConn(ctx, cfg, conn, stdio)
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
