package modes

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sockcat/sockcat/modes/p2p"
	"github.com/sockcat/sockcat/modes/p2p/rendezvous"
)

// P2POptions are the options of --p2p (SPEC §15).
type P2POptions struct {
	Enabled    bool
	Code       string         // the code to join; "" creates one
	CodeFile   string         // --code-file: write the created code here
	Rendezvous []string       // --rendezvous URLs, tried in order
	Relays     []p2p.RelayURL // --relay TURN servers
	STUN       []string       // STUN servers for the mapped candidates
}

// P2P meets the peer through a rendezvous with a code, runs the PAKE, finds
// a path (LAN, direct, or relay) and then behaves like a TCP connection
// (SPEC §3) over the encrypted stream. -w bounds the wait for the peer.
func P2P(ctx context.Context, cfg *Config, stdio Stdio) error {
	wctx := ctx
	if cfg.Net.Timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, cfg.Net.Timeout)
		defer cancel()
	}
	conn, err := p2pConnect(wctx, cfg, stdio)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("p2p: the peer did not come within %v (-w)", cfg.Net.Timeout)
		}
		return err
	}
	conn.SetLingerContext(ctx)
	path := conn.Path()
	logf(cfg, stdio, "connected to the peer: path %s, local %s, remote %s", path.Kind, path.Local, path.Remote)
	return serveConn(ctx, cfg, conn, stdio)
}

// p2pConnect runs the rendezvous, the PAKE and the path search.
func p2pConnect(ctx context.Context, cfg *Config, stdio Stdio) (*p2p.Conn, error) {
	o := cfg.P2P
	mb, code, role, err := p2pMeet(ctx, cfg, stdio)
	if err != nil {
		return nil, err
	}
	defer mb.Close()
	sec, err := p2p.Handshake(ctx, mb, code, role)
	if err != nil {
		return nil, fmt.Errorf("p2p: %w", err)
	}
	logf(cfg, stdio, "p2p: code accepted by the peer")
	conn, err := p2p.Connect(ctx, sec, role, p2p.Options{
		STUN:   o.STUN,
		Relays: o.Relays,
		Logf:   func(f string, a ...any) { logf(cfg, stdio, "p2p: "+f, a...) },
	})
	if err != nil {
		return nil, err
	}
	return conn, nil
}

// p2pMeet opens the rendezvous: a fresh nameplate and code for the
// creator, the code's nameplate for the joiner.
func p2pMeet(ctx context.Context, cfg *Config, stdio Stdio) (*rendezvous.Conn, p2p.Code, p2p.Role, error) {
	o := cfg.P2P
	if o.Code != "" {
		code, err := p2p.ParseCode(o.Code)
		if err != nil {
			return nil, p2p.Code{}, 0, err
		}
		mb, err := rendezvous.Open(ctx, o.Rendezvous, code.Nameplate)
		if err != nil {
			return nil, p2p.Code{}, 0, fmt.Errorf("p2p: %w", err)
		}
		return mb, code, p2p.RoleJoiner, nil
	}
	mb, err := rendezvous.Open(ctx, o.Rendezvous, "")
	if err != nil {
		return nil, p2p.Code{}, 0, fmt.Errorf("p2p: %w", err)
	}
	code, err := p2p.NewCode(mb.Nameplate())
	if err == nil && o.CodeFile != "" {
		err = WriteFileAtomic(o.CodeFile, code.String()+"\n") // the helper of --addr-file
	}
	if err != nil {
		mb.Close()
		return nil, p2p.Code{}, 0, fmt.Errorf("p2p: %w", err)
	}
	fmt.Fprintf(stdio.Err, "sockcat: on the other machine run: sockcat --p2p %s\n", code)
	return mb, code, p2p.RoleCreator, nil
}

// p2pStats is the "p2p" object of --stats-json.
type p2pStats struct {
	Path   string `json:"path"`
	Local  string `json:"local"`
	Remote string `json:"remote"`
}

// p2pStatsOf describes conn's path when it is a p2p stream, else nil.
func p2pStatsOf(conn net.Conn) *p2pStats {
	c, ok := conn.(*p2p.Conn)
	if !ok {
		return nil
	}
	p := c.Path()
	return &p2pStats{Path: p.Kind, Local: p.Local.String(), Remote: p.Remote.String()}
}
