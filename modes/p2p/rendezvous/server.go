package rendezvous

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// ServerConfig bounds what a rendezvous server accepts. Zero fields take the
// defaults in [DefaultServerConfig].
type ServerConfig struct {
	UnclaimedTTL  time.Duration // an allocated nameplate nobody claims expires after this
	Lifetime      time.Duration // a claimed nameplate's two holders are cut off after this
	BurnTTL       time.Duration // a used nameplate is refused (not reallocated) this long
	HelloTimeout  time.Duration // a new connection must allocate or claim within this
	WriteTimeout  time.Duration // a holder that does not read for this long is dropped
	MaxMessage    int           // largest message body
	MaxQueued     int           // messages held for a holder that has not arrived yet
	MaxQueuedSize int           // bytes held for one such holder
	MaxQueuedAll  int           // bytes held for all of them together
	MaxConns      int           // connections at once, from everyone
	MaxNameplates int           // nameplates in use or burnt at once
	ConnsPerAddr  int           // concurrent connections from one IP address
	ConnRate      float64       // new connections per second from one IP address
	ConnBurst     int
	MsgRate       float64 // messages per second from one IP address
	MsgBurst      int
	// Logf, when set, gets one line per event (never a message's content).
	Logf func(format string, args ...any)
}

// DefaultServerConfig returns the bounds `sockcat rendezvous` runs with.
func DefaultServerConfig() ServerConfig {
	return ServerConfig{
		UnclaimedTTL:  24 * time.Hour, // the creator waits with no time limit of its own (SPEC §15)
		Lifetime:      10 * time.Minute,
		BurnTTL:       time.Hour,
		HelloTimeout:  10 * time.Second,
		WriteTimeout:  10 * time.Second,
		MaxMessage:    MaxBody,
		MaxQueued:     32,
		MaxQueuedSize: 64 << 10,
		MaxQueuedAll:  64 << 20,
		MaxConns:      4096,
		MaxNameplates: 10000,
		ConnsPerAddr:  16,
		ConnRate:      2,
		ConnBurst:     20,
		MsgRate:       50,
		MsgBurst:      200,
	}
}

func (c *ServerConfig) fill() {
	d := DefaultServerConfig()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDur(&c.UnclaimedTTL, d.UnclaimedTTL)
	setDur(&c.Lifetime, d.Lifetime)
	setDur(&c.BurnTTL, d.BurnTTL)
	setDur(&c.HelloTimeout, d.HelloTimeout)
	setDur(&c.WriteTimeout, d.WriteTimeout)
	setInt(&c.MaxMessage, d.MaxMessage)
	if c.MaxMessage > MaxBody {
		c.MaxMessage = MaxBody
	}
	setInt(&c.MaxQueued, d.MaxQueued)
	setInt(&c.MaxQueuedSize, d.MaxQueuedSize)
	setInt(&c.MaxQueuedAll, d.MaxQueuedAll)
	setInt(&c.MaxConns, d.MaxConns)
	setInt(&c.MaxNameplates, d.MaxNameplates)
	setInt(&c.ConnsPerAddr, d.ConnsPerAddr)
	setInt(&c.ConnBurst, d.ConnBurst)
	setInt(&c.MsgBurst, d.MsgBurst)
	if c.ConnRate <= 0 {
		c.ConnRate = d.ConnRate
	}
	if c.MsgRate <= 0 {
		c.MsgRate = d.MsgRate
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Server is a rendezvous server: it pairs the two holders of a nameplate
// and passes opaque messages between them. It keeps everything in memory.
type Server struct {
	cfg ServerConfig

	mu      sync.Mutex
	plates  map[string]*plate
	addrs   map[string]*addrState
	conns   map[*holder]struct{}
	queued  int  // bytes queued on all nameplates
	closing bool // Serve is ending: admit no one
	wg      sync.WaitGroup
}

// plate is one nameplate's state.
type plate struct {
	name    string
	fwd     sync.Mutex  // serialises forwarding and the claim's flush
	holders [2]*holder  // guarded by Server.mu: 0 allocated, 1 claimed
	queued  [][]byte    // messages for the claimer before it came
	qsize   int         // their bytes
	paired  bool        // both holders met: the nameplate is burnt
	timer   *time.Timer // expiry
	left    [2]bool     // which holders have left (after pairing)
}

// holder is one client connection.
type holder struct {
	conn  net.Conn
	addr  string
	wmu   sync.Mutex
	plate *plate
	side  int
}

type addrState struct {
	conns    int
	connLim  *rate.Limiter
	msgLim   *rate.Limiter
	lastSeen time.Time
}

// NewServer returns a server with cfg's bounds.
func NewServer(cfg ServerConfig) *Server {
	cfg.fill()
	return &Server{
		cfg:    cfg,
		plates: map[string]*plate{},
		addrs:  map[string]*addrState{},
		conns:  map[*holder]struct{}{},
	}
}

// Serve accepts connections on ln until ctx is done, then closes ln and
// every connection and returns once all of them have ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	jctx, stopJanitor := context.WithCancel(ctx)
	s.wg.Add(1)
	go s.janitor(jctx)
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			break
		}
		s.wg.Add(1)
		go s.handle(c)
	}
	stopJanitor()
	s.shutdown()
	s.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("rendezvous: accept: %w", err)
}

// shutdown closes every connection.
func (s *Server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for h := range s.conns {
		h.conn.Close()
	}
	for _, p := range s.plates {
		if p.timer != nil {
			p.timer.Stop()
		}
	}
}

// janitor forgets idle addresses, so the table of rate limiters stays small.
func (s *Server) janitor(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			for a, st := range s.addrs {
				if st.conns == 0 && now.Sub(st.lastSeen) > 2*time.Minute {
					delete(s.addrs, a)
				}
			}
			s.mu.Unlock()
		}
	}
}

// admit applies the per-address connection bounds.
func (s *Server) admit(h *holder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.addrs[h.addr]
	if st == nil {
		st = &addrState{
			connLim: rate.NewLimiter(rate.Limit(s.cfg.ConnRate), s.cfg.ConnBurst),
			msgLim:  rate.NewLimiter(rate.Limit(s.cfg.MsgRate), s.cfg.MsgBurst),
		}
		s.addrs[h.addr] = st
	}
	st.lastSeen = time.Now()
	if s.closing {
		return errors.New("the rendezvous is stopping")
	}
	if len(s.conns) >= s.cfg.MaxConns {
		return errors.New("the rendezvous is full: try again later")
	}
	if st.conns >= s.cfg.ConnsPerAddr {
		return errors.New("too many connections from your address")
	}
	if !st.connLim.Allow() {
		return errors.New("too many new connections from your address: slow down")
	}
	st.conns++
	s.conns[h] = struct{}{}
	return nil
}

func (s *Server) release(h *holder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, h)
	if st := s.addrs[h.addr]; st != nil {
		st.conns--
		st.lastSeen = time.Now()
	}
}

func (s *Server) allowMessage(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.addrs[addr]
	return st != nil && st.msgLim.Allow()
}

// hostOf is the key the per-address bounds count by: the IPv4 address, or
// the /64 prefix of an IPv6 address (one host usually holds a whole /64).
func hostOf(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return ta.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// handle serves one connection: the hello, then messages until it ends.
func (s *Server) handle(c net.Conn) {
	defer s.wg.Done()
	h := &holder{conn: c, addr: hostOf(c.RemoteAddr())}
	defer h.finish()
	if err := s.admit(h); err != nil {
		s.cfg.Logf("rendezvous: %s refused: %v", c.RemoteAddr(), err)
		s.refuse(h, ReasonRate, err.Error())
		return
	}
	defer s.release(h)
	c.SetReadDeadline(time.Now().Add(s.cfg.HelloTimeout))
	f, err := readFrame(c, nil)
	if err != nil {
		s.cfg.Logf("rendezvous: %s: %v", c.RemoteAddr(), err)
		s.refuse(h, ReasonProtocol, err.Error())
		return
	}
	hello, err := ParseHello(f)
	if err != nil {
		s.cfg.Logf("rendezvous: %s: %v", c.RemoteAddr(), err)
		s.refuse(h, ReasonProtocol, err.Error())
		return
	}
	if hello.Claim {
		err = s.claim(h, hello.Nameplate)
	} else {
		err = s.allocate(h)
	}
	if err != nil {
		return
	}
	defer s.leave(h)
	s.relay(h)
}

// refuse sends an error frame, bounded in time.
func (s *Server) refuse(h *holder, reason byte, text string) {
	h.write(s.cfg.WriteTimeout, ErrorFrame(reason, text))
}

// write sends one frame, giving up after timeout; a holder that does not
// read is closed so its peer never waits on it.
func (h *holder) write(timeout time.Duration, f Frame) error {
	b, err := AppendFrame(nil, f)
	if err != nil {
		return err
	}
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := h.conn.Write(b); err != nil {
		h.conn.Close()
		return err
	}
	return nil
}

// finish ends a connection without resetting it: our side is shut for
// writing, what the client still sends is read and dropped (bounded), so an
// error frame is not lost to a TCP reset.
func (h *holder) finish() {
	h.wmu.Lock()
	if tc, ok := h.conn.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	h.wmu.Unlock()
	h.conn.SetReadDeadline(time.Now().Add(time.Second))
	io.CopyN(io.Discard, h.conn, 64<<10)
	h.conn.Close()
}

// readFrame reads one frame, reusing buf for the body when it is big enough.
func readFrame(r io.Reader, buf []byte) (Frame, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return Frame{}, err
	}
	kind, n, err := ParseHeader(hdr[:])
	if err != nil {
		return Frame{}, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	body := buf[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		return Frame{}, fmt.Errorf("reading a frame body: %w", err)
	}
	return Frame{Kind: kind, Body: body}, nil
}

// randomNameplate picks a free nameplate, short while the server is quiet:
// ten tries among 1-99, then 1-999, and so on.
func (s *Server) randomNameplate() (string, bool) {
	for limit := int64(100); limit <= 100_000_000; limit *= 10 {
		for i := 0; i < 10; i++ {
			n, err := rand.Int(rand.Reader, big.NewInt(limit-1))
			if err != nil {
				return "", false
			}
			name := fmt.Sprint(n.Int64() + 1)
			if _, taken := s.plates[name]; !taken {
				return name, true
			}
		}
	}
	return "", false
}
