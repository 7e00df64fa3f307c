package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

var errPunchTimeout = errors.New("punch timeout")

// join is the joiner's side: punch, fall back to a relay, dial QUIC.
func (s *session) join(ctx context.Context) (*Conn, error) {
	ch, err := s.punchUntil(ctx, s.opt.PunchTimeout)
	if errors.Is(err, errPunchTimeout) {
		ch, err = s.fallback(ctx)
	}
	if err != nil {
		return nil, err
	}
	s.opt.Logf("pair %s -> %s answered", s.pathOf(ch.sock, ch.remote).Local, ch.remote)
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	qc, st, err := dialStream(dctx, ch.sock, ch, tlsConfig(s.id, s.peer.Fingerprint, false))
	if err != nil {
		return nil, fmt.Errorf("p2p: %w", err)
	}
	s.stopPunching()
	return newConn(qc, st, s.pathOf(ch.sock, ch.remote), s.release), nil
}

// fallback tells the creator that punching failed and moves to a relay.
func (s *session) fallback(ctx context.Context) (choice, error) {
	if err := s.mb.Send(ctx, []byte{msgFallback}); err != nil {
		return choice{}, fmt.Errorf("p2p: tell the peer: %w", err)
	}
	switch s.relayer() {
	case 0:
		return choice{}, s.noPath()
	case RoleJoiner:
		if err := s.allocate(ctx); err != nil {
			return choice{}, err
		}
	}
	ch, err := s.punchUntil(ctx, relayTimeout)
	if errors.Is(err, errPunchTimeout) {
		return choice{}, fmt.Errorf("p2p: %w: no direct path within %v and none through the relay within %v", ErrNoPath, s.opt.PunchTimeout, relayTimeout)
	}
	return ch, err
}

// punchUntil probes until a pair answers, d passes or ctx ends. The peer's
// relay message, if one comes, adds the relayed address to the pairs.
func (s *session) punchUntil(ctx context.Context, d time.Duration) (choice, error) {
	limit := time.NewTimer(d)
	defer limit.Stop()
	tick := time.NewTicker(punchInterval)
	defer tick.Stop()
	s.p.tick(time.Now())
	for {
		select {
		case <-ctx.Done():
			return choice{}, ctx.Err()
		case <-limit.C:
			return choice{}, errPunchTimeout
		case now := <-tick.C:
			s.p.tick(now)
		case pkt := <-s.pkts:
			if ch, ok := s.p.handle(pkt); ok {
				return ch, nil
			}
		case m := <-s.msgs:
			if m.err != nil {
				return choice{}, fmt.Errorf("p2p: the peer left: %w", m.err)
			}
			if len(m.b) > 0 && m.b[0] == msgRelay {
				if err := s.peerRelay(m.b); err != nil {
					return choice{}, err
				}
			}
		}
	}
}

// accepted is a connection that passed the pin and opened the stream.
type accepted struct {
	qc   *quic.Conn
	st   *quic.Stream
	sock *pathSocket
}

// acceptor runs the creator's listeners.
type acceptor struct {
	s   *session
	out chan accepted
	wg  sync.WaitGroup
	ctx context.Context
}

func (a *acceptor) listen(sock *pathSocket) error {
	ln, err := sock.tr.Listen(tlsConfig(a.s.id, a.s.peer.Fingerprint, true), quicConfig())
	if err != nil {
		return fmt.Errorf("p2p: listen: %w", err)
	}
	a.wg.Add(1)
	go acceptOne(a.ctx, ln, sock, a.out, &a.wg)
	return nil
}

// acceptOne accepts connections on ln until one opens the stream.
func acceptOne(ctx context.Context, ln *quic.Listener, sock *pathSocket, out chan<- accepted, wg *sync.WaitGroup) {
	defer wg.Done()
	defer ln.Close()
	for {
		qc, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		st, err := acceptStream(ctx, qc)
		if err != nil {
			qc.CloseWithError(codeReset, "")
			continue
		}
		out <- accepted{qc, st, sock} // buffered: one per listener
		return
	}
}

// create is the creator's side: answer probes and accept the joiner's QUIC
// connection, allocating a relay when the joiner says punching failed.
func (s *session) create(ctx context.Context) (*Conn, error) {
	actx, cancel := context.WithCancel(ctx)
	a := &acceptor{s: s, out: make(chan accepted, 2), ctx: actx}
	defer func() {
		cancel()
		a.wg.Wait()
	}()
	if err := a.listen(s.main); err != nil {
		return nil, err
	}
	total := s.opt.PunchTimeout + allocTimeout + relayTimeout + dialTimeout
	limit := time.NewTimer(total)
	defer limit.Stop()
	tick := time.NewTicker(punchInterval)
	defer tick.Stop()
	s.p.tick(time.Now())
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-limit.C:
			return nil, fmt.Errorf("p2p: %w: the peer did not connect within %v", ErrNoPath, total)
		case now := <-tick.C:
			s.p.tick(now)
		case pkt := <-s.pkts:
			s.p.handle(pkt)
		case acc := <-a.out:
			s.stopPunching()
			remote := addrPortOf(acc.qc.RemoteAddr())
			return newConn(acc.qc, acc.st, s.pathOf(acc.sock, remote), s.release), nil
		case m := <-s.msgs:
			if m.err != nil {
				s.msgs = nil // the joiner may have closed its mailbox after dialling; limit bounds the wait
				continue
			}
			if err := s.creatorMsg(ctx, a, m.b); err != nil {
				return nil, err
			}
		}
	}
}

// creatorMsg handles the joiner's fallback and relay messages.
func (s *session) creatorMsg(ctx context.Context, a *acceptor, b []byte) error {
	if len(b) == 0 {
		return errors.New("p2p: empty message from the peer")
	}
	switch b[0] {
	case msgFallback:
		switch s.relayer() {
		case 0:
			return s.noPath()
		case RoleCreator:
			if err := s.allocate(ctx); err != nil {
				return err
			}
			return a.listen(s.relay.sock)
		}
		return nil
	case msgRelay:
		return s.peerRelay(b)
	}
	return fmt.Errorf("p2p: unexpected message type %d from the peer", b[0])
}
