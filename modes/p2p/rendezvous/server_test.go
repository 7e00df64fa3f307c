package rendezvous

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testServer runs a server on 127.0.0.1:0 until the test ends.
type testServer struct {
	url  string
	addr string
	srv  *Server
	logs *logBuf
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func startServer(t *testing.T, cfg ServerConfig, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuf{}
	cfg.Logf = logs.logf
	srv := NewServer(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	l := ln
	if wrap != nil {
		l = wrap(ln)
	}
	go serveInto(ctx, srv, l, done)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return &testServer{url: "sockcat://" + ln.Addr().String(), addr: ln.Addr().String(), srv: srv, logs: logs}
}

func serveInto(ctx context.Context, srv *Server, ln net.Listener, done chan<- error) {
	done <- srv.Serve(ctx, ln)
}

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustOpen(t *testing.T, urls []string, nameplate string) *Conn {
	t.Helper()
	c, err := Open(tctx(t), urls, nameplate)
	if err != nil {
		t.Fatalf("Open(%q): %v", nameplate, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func recvString(t *testing.T, c *Conn) string {
	t.Helper()
	m, err := c.Recv(tctx(t))
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	return string(m)
}

func wantRefused(t *testing.T, err error, reason byte) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != reason {
		t.Fatalf("err = %v, want a refusal with reason %q", err, reason)
	}
}

func TestAllocateClaimExchange(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	if err := checkNameplate(a.Nameplate()); err != nil {
		t.Fatalf("allocated %q: %v", a.Nameplate(), err)
	}
	ctx := tctx(t)
	// Sent before the claimer comes: queued, then delivered in order.
	for _, m := range []string{"early 1", "early 2"} {
		if err := a.Send(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	b := mustOpen(t, []string{ts.url}, a.Nameplate())
	if b.Nameplate() != a.Nameplate() {
		t.Fatalf("claimed %q, want %q", b.Nameplate(), a.Nameplate())
	}
	a.Send(ctx, []byte("late"))
	b.Send(ctx, []byte("to allocator"))
	big := strings.Repeat("z", MaxBody)
	b.Send(ctx, []byte(big))
	got := []string{recvString(t, b), recvString(t, b), recvString(t, b)}
	if diff := cmp.Diff([]string{"early 1", "early 2", "late"}, got); diff != "" {
		t.Errorf("claimer received (-want +got):\n%s", diff)
	}
	if m := recvString(t, a); m != "to allocator" {
		t.Errorf("allocator received %q", m)
	}
	if m := recvString(t, a); m != big {
		t.Errorf("allocator received %d bytes, want %d", len(m), len(big))
	}
	// The claimer leaves after a last message: the allocator reads it, then
	// learns the peer is gone.
	b.Send(ctx, []byte("bye"))
	b.Close()
	if m := recvString(t, a); m != "bye" {
		t.Errorf("allocator received %q, want bye", m)
	}
	if _, err := a.Recv(ctx); !errors.Is(err, ErrPeerGone) {
		t.Errorf("after the peer left: %v, want ErrPeerGone", err)
	}
}

func TestThirdClaimantRefused(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	b := mustOpen(t, []string{ts.url}, a.Nameplate())
	_, err := Open(tctx(t), []string{ts.url}, a.Nameplate())
	wantRefused(t, err, ReasonUsed)
	if !strings.Contains(err.Error(), "a code works once") {
		t.Errorf("refusal text %q does not explain", err)
	}
	// Still refused once both holders left: the nameplate stays burnt.
	a.Close()
	b.Close()
	waitFor(t, "both holders to leave", func() bool { return strings.Count(ts.logs.String(), "left nameplate") == 2 })
	_, err = Open(tctx(t), []string{ts.url}, a.Nameplate())
	wantRefused(t, err, ReasonUsed)
	// An unknown nameplate is refused too.
	_, err = Open(tctx(t), []string{ts.url}, "99999999")
	wantRefused(t, err, ReasonUnknown)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestUnclaimedExpiry(t *testing.T) {
	ts := startServer(t, ServerConfig{UnclaimedTTL: 200 * time.Millisecond}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	start := time.Now()
	_, err := a.Recv(tctx(t))
	wantRefused(t, err, ReasonExpired)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("expiry took %v", d)
	}
	_, err = Open(tctx(t), []string{ts.url}, a.Nameplate())
	wantRefused(t, err, ReasonUnknown)
}

func TestPairedLifetime(t *testing.T) {
	ts := startServer(t, ServerConfig{Lifetime: 300 * time.Millisecond}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	b := mustOpen(t, []string{ts.url}, a.Nameplate())
	for _, c := range []*Conn{a, b} {
		_, err := c.Recv(tctx(t))
		wantRefused(t, err, ReasonExpired)
	}
}

func TestAllocatorLeavesFreesNameplate(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	a.Close()
	waitFor(t, "the allocator to leave", func() bool { return strings.Contains(ts.logs.String(), "left nameplate") })
	_, err := Open(tctx(t), []string{ts.url}, a.Nameplate())
	wantRefused(t, err, ReasonUnknown)
}

func TestMessageSizeBound(t *testing.T) {
	ts := startServer(t, ServerConfig{MaxMessage: 1024}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	b := mustOpen(t, []string{ts.url}, a.Nameplate())
	ctx := tctx(t)
	if err := a.Send(ctx, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if m, err := b.Recv(ctx); err != nil || len(m) != 1024 {
		t.Fatalf("1024-byte message: %d bytes, %v", len(m), err)
	}
	a.Send(ctx, make([]byte, 1025))
	_, err := a.Recv(ctx)
	wantRefused(t, err, ReasonTooLarge)
	if _, err := b.Recv(ctx); !errors.Is(err, ErrPeerGone) {
		t.Errorf("peer of the dropped sender: %v, want ErrPeerGone", err)
	}
	if err := a.Send(ctx, make([]byte, MaxBody+1)); err == nil {
		t.Error("client sent a message over MaxBody")
	}
}

func TestQueueBound(t *testing.T) {
	ts := startServer(t, ServerConfig{MaxQueued: 3}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	ctx := tctx(t)
	for i := 0; i < 4; i++ {
		a.Send(ctx, []byte("x"))
	}
	_, err := a.Recv(ctx)
	wantRefused(t, err, ReasonQueueFull)

	ts2 := startServer(t, ServerConfig{MaxQueuedSize: 1000}, nil)
	b := mustOpen(t, []string{ts2.url}, "")
	b.Send(ctx, make([]byte, 600))
	b.Send(ctx, make([]byte, 600))
	_, err = b.Recv(ctx)
	wantRefused(t, err, ReasonQueueFull)

	// The total over all nameplates is bounded too; a claim frees its share.
	ts3 := startServer(t, ServerConfig{MaxQueuedAll: 1000}, nil)
	c := mustOpen(t, []string{ts3.url}, "")
	d := mustOpen(t, []string{ts3.url}, "")
	c.Send(ctx, make([]byte, 600))
	d.Send(ctx, make([]byte, 600))
	// Exactly one of the two is over the total and refused.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, errC := c.Recv(short)
	_, errD := d.Recv(short)
	kept := c
	switch {
	case errors.Is(errC, context.DeadlineExceeded):
		wantRefused(t, errD, ReasonQueueFull)
	case errors.Is(errD, context.DeadlineExceeded):
		wantRefused(t, errC, ReasonQueueFull)
		kept = d
	default:
		t.Fatalf("c: %v, d: %v: want exactly one refused", errC, errD)
	}
	// A claim hands the queue over and frees its share of the total.
	mustOpen(t, []string{ts3.url}, kept.Nameplate())
	e := mustOpen(t, []string{ts3.url}, "")
	e.Send(ctx, make([]byte, 600))
	e.Send(ctx, []byte("still room"))
	if _, err := Open(ctx, []string{ts3.url}, e.Nameplate()); err != nil {
		t.Fatalf("claim after the queue drained: %v", err)
	}
}

func TestConnectionBounds(t *testing.T) {
	ts := startServer(t, ServerConfig{ConnsPerAddr: 2, ConnRate: 1000, ConnBurst: 1000}, nil)
	mustOpen(t, []string{ts.url}, "")
	mustOpen(t, []string{ts.url}, "")
	_, err := Open(tctx(t), []string{ts.url}, "")
	wantRefused(t, err, ReasonRate)

	ts1 := startServer(t, ServerConfig{MaxConns: 1}, nil)
	mustOpen(t, []string{ts1.url}, "")
	_, err = Open(tctx(t), []string{ts1.url}, "")
	wantRefused(t, err, ReasonRate)

	ts2 := startServer(t, ServerConfig{ConnRate: 0.001, ConnBurst: 3}, nil)
	for i := 0; i < 3; i++ {
		c := mustOpen(t, []string{ts2.url}, "")
		c.Close()
	}
	_, err = Open(tctx(t), []string{ts2.url}, "")
	wantRefused(t, err, ReasonRate)
}

func TestMessageRateBound(t *testing.T) {
	ts := startServer(t, ServerConfig{MsgRate: 0.001, MsgBurst: 5}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	b := mustOpen(t, []string{ts.url}, a.Nameplate())
	ctx := tctx(t)
	for i := 0; i < 6; i++ {
		a.Send(ctx, []byte{byte(i)})
	}
	for i := 0; i < 5; i++ {
		if m := recvString(t, b); m != string([]byte{byte(i)}) {
			t.Fatalf("message %d: %q", i, m)
		}
	}
	_, err := a.Recv(ctx)
	wantRefused(t, err, ReasonRate)
}

// TestGarbage throws malformed input at the server: each connection gets
// an error (or is closed), and the server keeps serving.
func TestGarbage(t *testing.T) {
	ts := startServer(t, ServerConfig{ConnRate: 1000, ConnBurst: 1000, HelloTimeout: 500 * time.Millisecond}, nil)
	inputs := [][]byte{
		[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		{KindMessage, 0, 2, 'h', 'i'},
		{KindClaim, 0, 3, 9, '1', '2'},
		{KindClaim, 0, 3, Version, 'x', 'y'},
		{KindAllocate, 0xff, 0xff},
		{KindAllocate, 0, 5, Version},
		{},
	}
	for i := 0; i < 50; i++ {
		b := make([]byte, 1+i*13)
		rand.Read(b)
		inputs = append(inputs, b)
	}
	for i, in := range inputs {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(in)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, err := io.ReadAll(conn)
		conn.Close()
		if err != nil {
			t.Fatalf("input %d: server did not close: %v", i, err)
		}
		if len(reply) > 0 {
			f, _, err := ParseFrame(reply)
			if err != nil || (f.Kind != KindError && f.Kind != KindNameplate) {
				t.Fatalf("input %d: reply %q", i, reply)
			}
		}
	}
	// Garbage after a valid hello.
	a := mustOpen(t, []string{ts.url}, "")
	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	hello, _ := AppendFrame(nil, HelloFrame(a.Nameplate()))
	raw.Write(append(hello, KindAllocate, 0, 1, Version))
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, _ := io.ReadAll(raw)
	if !strings.Contains(string(reply), "unexpected frame") {
		t.Errorf("reply to a second hello: %q", reply)
	}
	// Still serving.
	c := mustOpen(t, []string{ts.url}, "")
	if c.Nameplate() == "" {
		t.Fatal("no nameplate after garbage")
	}
}

func TestOpenFallsThroughAndFails(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "sockcat://" + dead.Addr().String()
	dead.Close()
	c := mustOpen(t, []string{deadURL, ts.url}, "")
	if c.URL() != ts.url {
		t.Errorf("used %s, want %s", c.URL(), ts.url)
	}
	start := time.Now()
	if _, err := Open(tctx(t), []string{deadURL}, ""); err == nil {
		t.Fatal("Open of a dead rendezvous succeeded")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("a dead rendezvous took long to fail")
	}
	for _, bad := range []string{"http://x:1", "sockcat://nohost", "sockcat://h:1/path", "mqtt://u:p@h:1", "::"} {
		if _, err := Open(tctx(t), []string{bad}, ""); err == nil || !strings.Contains(err.Error(), "bad rendezvous URL") {
			t.Errorf("Open(%q): %v", bad, err)
		}
	}
	if _, err := Open(tctx(t), nil, ""); err == nil {
		t.Error("Open with no URL succeeded")
	}
	if _, err := Open(tctx(t), []string{ts.url}, "abc"); err == nil {
		t.Error("Open with a bad nameplate succeeded")
	}
}

func TestDefaultURLs(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if len(DefaultURLs(getenv)) == 0 {
		t.Error("no default rendezvous")
	}
	for _, u := range DefaultURLs(getenv) {
		if _, err := ParseURL(u); err != nil {
			t.Errorf("default %s: %v", u, err)
		}
	}
	env["SOCKCAT_NO_EXTERNAL"] = "1"
	if got := DefaultURLs(getenv); len(got) != 0 {
		t.Errorf("SOCKCAT_NO_EXTERNAL=1: %v", got)
	}
}

func TestServeStopsAndClosesConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(ServerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go serveInto(ctx, srv, ln, done)
	a := mustOpen(t, []string{"sockcat://" + ln.Addr().String()}, "")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
	if _, err := a.Recv(tctx(t)); err == nil {
		t.Error("a holder's connection survived the server's stop")
	}
}

func TestClosedConn(t *testing.T) {
	ts := startServer(t, ServerConfig{}, nil)
	a := mustOpen(t, []string{ts.url}, "")
	b := mustOpen(t, []string{ts.url}, a.Nameplate())
	ctx := tctx(t)
	b.Send(ctx, []byte("unread"))
	waitFor(t, "the message to arrive", func() bool { return len(a.t.(*sockcatConn).msgs) == 1 })
	a.Close()
	if _, err := a.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
	if err := a.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Recv(ctx); !errors.Is(err, ErrPeerGone) {
		t.Errorf("peer of a closed conn: %v", err)
	}
}

// FuzzServer sends arbitrary bytes to a running server: every connection
// must end with at most well-formed frames in reply, and the server must
// keep serving.
func FuzzServer(f *testing.F) {
	for _, fr := range []Frame{HelloFrame(""), HelloFrame("12"), {Kind: KindMessage, Body: []byte("x")}} {
		b, _ := AppendFrame(nil, fr)
		f.Add(b)
		f.Add(append(b, b...))
	}
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	srv := NewServer(ServerConfig{ConnRate: 1e9, ConnBurst: 1 << 30, MsgRate: 1e9, MsgBurst: 1 << 30, HelloTimeout: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go serveInto(ctx, srv, ln, done)
	f.Cleanup(func() { cancel(); <-done })
	f.Fuzz(func(t *testing.T, in []byte) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		wrote := make(chan struct{})
		go writeThenShut(conn.(*net.TCPConn), in, wrote)
		reply, err := io.ReadAll(conn)
		<-wrote
		if err != nil {
			t.Fatalf("server did not end the connection: %v", err)
		}
		for len(reply) > 0 {
			_, n, err := ParseFrame(reply)
			if err != nil {
				t.Fatalf("malformed reply %q: %v", reply, err)
			}
			reply = reply[n:]
		}
	})
}

func writeThenShut(c *net.TCPConn, b []byte, done chan<- struct{}) {
	defer close(done)
	c.Write(b)
	c.CloseWrite()
}

// brokenListener fails Accept after the first connection, once told to.
type brokenListener struct {
	net.Listener
	n     int
	broke chan struct{}
}

func (l *brokenListener) Accept() (net.Conn, error) {
	l.n++
	if l.n > 1 {
		<-l.broke
		return nil, errors.New("accept broke")
	}
	return l.Listener.Accept()
}

func TestServeReturnsAcceptError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	bl := &brokenListener{Listener: ln, broke: make(chan struct{})}
	go serveInto(context.Background(), NewServer(ServerConfig{}), bl, done)
	a, err := Open(tctx(t), []string{"sockcat://" + ln.Addr().String()}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	close(bl.broke)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "accept broke") {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after an accept error")
	}
	if _, err := a.Recv(tctx(t)); err == nil {
		t.Error("a holder survived the server's end")
	}
}

func TestHostOf(t *testing.T) {
	tests := map[string]net.Addr{
		"192.0.2.1":         &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1},
		"192.0.2.2":         &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.2"), Port: 1},
		"2001:db8:1:2::/64": &net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), Port: 1},
		"pipe":              pipeAddr{},
	}
	for want, a := range tests {
		if got := hostOf(a); got != want {
			t.Errorf("hostOf(%v) = %q, want %q", a, got, want)
		}
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

func TestIPv6Loopback(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srv := NewServer(ServerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go serveInto(ctx, srv, ln, done)
	defer func() { cancel(); <-done }()
	url := "sockcat://" + ln.Addr().String()
	a := mustOpen(t, []string{url}, "")
	b := mustOpen(t, []string{url}, a.Nameplate())
	b.Send(tctx(t), []byte("over ::1"))
	if m := recvString(t, a); m != "over ::1" {
		t.Errorf("got %q", m)
	}
}

func TestNameplateBound(t *testing.T) {
	ts := startServer(t, ServerConfig{MaxNameplates: 2}, nil)
	mustOpen(t, []string{ts.url}, "")
	b := mustOpen(t, []string{ts.url}, "")
	_, err := Open(tctx(t), []string{ts.url}, "")
	wantRefused(t, err, ReasonFull)
	b.Close()
	waitFor(t, "the nameplate to be freed", func() bool { return strings.Contains(ts.logs.String(), "left nameplate") })
	mustOpen(t, []string{ts.url}, "")
}
