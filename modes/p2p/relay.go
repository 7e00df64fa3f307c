package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/pion/turn/v4"
)

// RelayURL is a parsed --relay turn://USER:PASS@HOST:PORT.
type RelayURL struct {
	User, Pass string
	Host       string // host:port
}

// ParseRelayURL parses a --relay value. The port defaults to 3478.
func ParseRelayURL(s string) (RelayURL, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "turn" || u.Host == "" || u.User == nil || u.Opaque != "" {
		return RelayURL{}, fmt.Errorf("relay %q: want turn://USER:PASS@HOST:PORT", s)
	}
	pass, ok := u.User.Password()
	if !ok || u.User.Username() == "" {
		return RelayURL{}, fmt.Errorf("relay %q: want turn://USER:PASS@HOST:PORT (user and password are required)", s)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return RelayURL{}, fmt.Errorf("relay %q: want turn://USER:PASS@HOST:PORT (no path or query)", s)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "3478")
	} else if p, err := strconv.ParseUint(u.Port(), 10, 16); err != nil || p == 0 {
		return RelayURL{}, fmt.Errorf("relay %q: bad port %q", s, u.Port())
	}
	return RelayURL{User: u.User.Username(), Pass: pass, Host: host}, nil
}

// relayAlloc is one TURN allocation and the socket that carries it.
type relayAlloc struct {
	client *turn.Client
	base   net.PacketConn // our socket towards the TURN server
	sock   *pathSocket    // over the relayed PacketConn
}

func (r *relayAlloc) close() {
	r.sock.close() // closes the relayed conn: the allocation is released
	r.client.Close()
	r.base.Close()
}

// allocTimeout bounds one TURN allocation.
const allocTimeout = 5 * time.Second

// allocateRelay tries each relay in order and returns the first allocation.
func allocateRelay(ctx context.Context, relays []RelayURL, pkts chan<- packet) (*relayAlloc, error) {
	var errs []error
	for _, r := range relays {
		a, err := allocateOne(ctx, r, pkts)
		if err == nil {
			return a, nil
		}
		errs = append(errs, fmt.Errorf("relay %s: %w", r.Host, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func allocateOne(ctx context.Context, r RelayURL, pkts chan<- packet) (*relayAlloc, error) {
	ap, err := resolveHostPort(ctx, r.Host, 3478)
	if err != nil {
		return nil, err
	}
	nw := "udp4"
	if ap.Addr().Is6() {
		nw = "udp6"
	}
	base, err := net.ListenUDP(nw, nil)
	if err != nil {
		return nil, fmt.Errorf("open socket: %w", err)
	}
	client, err := turn.NewClient(&turn.ClientConfig{
		STUNServerAddr: ap.String(),
		TURNServerAddr: ap.String(),
		Username:       r.User,
		Password:       r.Pass,
		Conn:           base,
		RTO:            200 * time.Millisecond,
	})
	if err != nil {
		base.Close()
		return nil, fmt.Errorf("turn client: %w", err)
	}
	relayed, err := allocateBounded(ctx, client)
	if err != nil {
		client.Close()
		base.Close()
		return nil, err
	}
	addr := addrPortOf(relayed.LocalAddr())
	return &relayAlloc{client: client, base: base, sock: newPathSocket(relayed, true, addr, pkts)}, nil
}

// allocateBounded runs Listen and Allocate, which take no context, under
// allocTimeout and ctx: on expiry the client is closed, which ends them.
func allocateBounded(ctx context.Context, client *turn.Client) (net.PacketConn, error) {
	done := make(chan allocResult, 1)
	go allocate(client, done)
	t := time.NewTimer(allocTimeout)
	defer t.Stop()
	select {
	case r := <-done:
		return r.pc, r.err
	case <-t.C:
	case <-ctx.Done():
	}
	client.Close()
	r := <-done // Close makes the pending transaction fail
	if r.pc != nil {
		r.pc.Close()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, fmt.Errorf("no allocation within %v", allocTimeout)
}

type allocResult struct {
	pc  net.PacketConn
	err error
}

// allocate listens on the client's socket and requests an allocation.
func allocate(client *turn.Client, done chan<- allocResult) {
	if err := client.Listen(); err != nil {
		done <- allocResult{nil, fmt.Errorf("listen: %w", err)}
		return
	}
	pc, err := client.Allocate()
	if err != nil {
		err = fmt.Errorf("allocate: %w", err)
	}
	done <- allocResult{pc, err}
}
