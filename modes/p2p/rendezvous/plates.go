package rendezvous

import (
	"fmt"
	"time"
)

// allocate gives h a fresh nameplate and tells it.
func (s *Server) allocate(h *holder) error {
	h.conn.SetReadDeadline(time.Time{}) // before expiry may set one
	s.mu.Lock()
	if len(s.plates) >= s.cfg.MaxNameplates {
		s.mu.Unlock()
		s.refuse(h, ReasonFull, "the rendezvous is full: try again later")
		return fmt.Errorf("full")
	}
	name, ok := s.randomNameplate()
	if !ok {
		s.mu.Unlock()
		s.refuse(h, ReasonFull, "no free nameplate: try again later")
		return fmt.Errorf("full")
	}
	p := &plate{name: name}
	p.holders[0] = h
	h.plate, h.side = p, 0
	s.plates[name] = p
	p.timer = time.AfterFunc(s.cfg.UnclaimedTTL, func() { s.expire(p, false) })
	s.mu.Unlock()
	s.cfg.Logf("rendezvous: %s allocated nameplate %s", h.conn.RemoteAddr(), name)
	// A failed write closed the connection: the relay loop ends at once and
	// leave() frees the nameplate.
	h.write(s.cfg.WriteTimeout, Frame{Kind: KindNameplate, Body: []byte(name)})
	return nil
}

// claim pairs h with the holder of name, then hands it the messages that
// waited for it. A nameplate is claimed once: later claimants are refused.
func (s *Server) claim(h *holder, name string) error {
	h.conn.SetReadDeadline(time.Time{}) // before expiry may set one
	s.mu.Lock()
	p := s.plates[name]
	s.mu.Unlock()
	if p == nil {
		return s.refuseClaim(h, name, ReasonUnknown)
	}
	p.fwd.Lock()
	defer p.fwd.Unlock()
	s.mu.Lock()
	switch {
	case s.plates[name] != p:
		s.mu.Unlock()
		return s.refuseClaim(h, name, ReasonUnknown)
	case p.paired:
		s.mu.Unlock()
		return s.refuseClaim(h, name, ReasonUsed)
	}
	// Burn the nameplate: nobody else can claim it from now on.
	p.paired = true
	p.timer.Stop()
	p.timer = time.AfterFunc(s.cfg.Lifetime, func() { s.expire(p, true) })
	p.holders[1] = h
	h.plate, h.side = p, 1
	queued := p.queued
	p.queued = nil
	s.queued -= p.qsize
	p.qsize = 0
	allocatorGone := p.left[0]
	s.mu.Unlock()
	s.cfg.Logf("rendezvous: %s claimed nameplate %s", h.conn.RemoteAddr(), name)
	if err := h.write(s.cfg.WriteTimeout, Frame{Kind: KindNameplate, Body: []byte(name)}); err != nil {
		return nil // registered: leave() runs and cleans up
	}
	for _, m := range queued {
		if h.write(s.cfg.WriteTimeout, Frame{Kind: KindMessage, Body: m}) != nil {
			return nil
		}
	}
	if allocatorGone {
		h.write(s.cfg.WriteTimeout, Frame{Kind: KindGone})
	}
	return nil
}

// refuseClaim tells a claimant why it cannot have name.
func (s *Server) refuseClaim(h *holder, name string, reason byte) error {
	text := fmt.Sprintf("no nameplate %s here (expired, or never allocated): check the code", name)
	if reason == ReasonUsed {
		text = fmt.Sprintf("nameplate %s was already used: a code works once, start again for a new one", name)
	}
	s.cfg.Logf("rendezvous: %s refused claim of %s: %s", h.conn.RemoteAddr(), name, text)
	s.refuse(h, reason, text)
	return fmt.Errorf("refused")
}

// relay reads h's messages and passes each to the other holder.
func (s *Server) relay(h *holder) {
	buf := make([]byte, 0, 4096)
	for {
		f, err := readFrame(h.conn, buf)
		if err != nil {
			return
		}
		if f.Kind != KindMessage {
			s.cfg.Logf("rendezvous: %s sent frame 0x%02x after the hello: dropped", h.conn.RemoteAddr(), f.Kind)
			s.refuse(h, ReasonProtocol, "unexpected frame after the hello")
			return
		}
		if len(f.Body) > s.cfg.MaxMessage {
			s.cfg.Logf("rendezvous: %s sent a message over the size limit: dropped", h.conn.RemoteAddr())
			s.refuse(h, ReasonTooLarge, fmt.Sprintf("message of %d bytes is over the %d-byte limit", len(f.Body), s.cfg.MaxMessage))
			return
		}
		if !s.allowMessage(h.addr) {
			s.cfg.Logf("rendezvous: %s over the message rate: dropped", h.conn.RemoteAddr())
			s.refuse(h, ReasonRate, "too many messages from your address: slow down")
			return
		}
		if !s.forward(h, append([]byte(nil), f.Body...)) {
			return
		}
	}
}

// forward passes msg to h's peer, or queues it while the peer has not come.
func (s *Server) forward(h *holder, msg []byte) bool {
	p := h.plate
	p.fwd.Lock()
	defer p.fwd.Unlock()
	s.mu.Lock()
	peer := p.holders[1-h.side]
	if peer == nil && !p.paired {
		if len(p.queued) >= s.cfg.MaxQueued || p.qsize+len(msg) > s.cfg.MaxQueuedSize || s.queued+len(msg) > s.cfg.MaxQueuedAll {
			s.mu.Unlock()
			s.refuse(h, ReasonQueueFull, "too much sent before the other side came")
			return false
		}
		p.queued = append(p.queued, msg)
		p.qsize += len(msg)
		s.queued += len(msg)
		s.mu.Unlock()
		return true
	}
	s.mu.Unlock()
	if peer != nil {
		peer.write(s.cfg.WriteTimeout, Frame{Kind: KindMessage, Body: msg})
	}
	return true // a peer that left misses nothing it could still read
}

// leave takes h off its nameplate and tells the peer. An unclaimed
// nameplate is freed; a used one stays burnt for BurnTTL once both left.
func (s *Server) leave(h *holder) {
	p := h.plate
	p.fwd.Lock()
	defer p.fwd.Unlock()
	s.mu.Lock()
	p.holders[h.side] = nil
	p.left[h.side] = true
	peer := p.holders[1-h.side]
	switch {
	case !p.paired:
		p.timer.Stop()
		s.queued -= p.qsize
		p.queued, p.qsize = nil, 0
		if s.plates[p.name] == p {
			delete(s.plates, p.name)
		}
	case p.left[0] && p.left[1]:
		p.timer.Stop()
		p.timer = time.AfterFunc(s.cfg.BurnTTL, func() { s.forget(p) })
	}
	s.mu.Unlock()
	s.cfg.Logf("rendezvous: %s left nameplate %s", h.conn.RemoteAddr(), p.name)
	if peer != nil {
		peer.write(s.cfg.WriteTimeout, Frame{Kind: KindGone})
	}
}

// expire ends a nameplate that outlived its time: unclaimed, or claimed
// and past its lifetime. Its holders get an error and are disconnected; an
// unclaimed nameplate is gone at once, a claimed one stays burnt.
func (s *Server) expire(p *plate, paired bool) {
	s.mu.Lock()
	if p.paired != paired || s.plates[p.name] != p {
		s.mu.Unlock()
		return
	}
	if !paired {
		delete(s.plates, p.name)
	}
	hs := p.holders
	s.mu.Unlock()
	s.cfg.Logf("rendezvous: nameplate %s expired", p.name)
	text := fmt.Sprintf("nameplate %s expired unclaimed after %v", p.name, s.cfg.UnclaimedTTL)
	if paired {
		text = fmt.Sprintf("nameplate %s reached its %v lifetime", p.name, s.cfg.Lifetime)
	}
	for _, h := range hs {
		if h != nil {
			s.refuse(h, ReasonExpired, text)
		}
	}
	for _, h := range hs {
		if h != nil {
			h.conn.SetReadDeadline(time.Now()) // ends its relay loop
		}
	}
}

// forget drops a burnt nameplate so it can be allocated again.
func (s *Server) forget(p *plate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plates[p.name] == p {
		delete(s.plates, p.name)
	}
}
