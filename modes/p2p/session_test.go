package p2p

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// memBox is one end of an in-memory mailbox pair with a fixed export key.
type memBox struct {
	in, out chan []byte
	key     []byte
	closed  chan struct{}
	once    sync.Once
}

func memPair(keyA, keyB []byte) (*memBox, *memBox) {
	ab, ba := make(chan []byte, 16), make(chan []byte, 16)
	return &memBox{in: ba, out: ab, key: keyA, closed: make(chan struct{})},
		&memBox{in: ab, out: ba, key: keyB, closed: make(chan struct{})}
}

func (m *memBox) Send(ctx context.Context, b []byte) error {
	select {
	case m.out <- append([]byte(nil), b...):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-m.closed:
		return errors.New("mailbox closed")
	}
}

func (m *memBox) Recv(ctx context.Context) ([]byte, error) {
	select {
	case b := <-m.in:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.closed:
		return nil, errors.New("mailbox closed")
	}
}

func (m *memBox) Close() error { m.once.Do(func() { close(m.closed) }); return nil }

func (m *memBox) ExportKey(label string, n int) []byte {
	h := sha256.Sum256(append(append([]byte(nil), m.key...), label...))
	return h[:n]
}

func loopback() ([]netip.Addr, error) { return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil }

type connResult struct {
	c   *Conn
	err error
}

// connectPair runs both sides of Connect and returns creator, joiner.
func connectPair(t *testing.T, keyA, keyB []byte, optA, optB Options) (connResult, connResult) {
	t.Helper()
	a, b := memPair(keyA, keyB)
	t.Cleanup(func() { a.Close(); b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	ca, cb := make(chan connResult, 1), make(chan connResult, 1)
	go runConnect(ctx, a, RoleCreator, optA, ca)
	go runConnect(ctx, b, RoleJoiner, optB, cb)
	ra, rb := <-ca, <-cb
	cancel() // the connections outlive the context of the search
	for _, r := range []connResult{ra, rb} {
		if r.c != nil {
			t.Cleanup(func() { r.c.Close() })
		}
	}
	return ra, rb
}

func runConnect(ctx context.Context, mb Keyed, role Role, opt Options, out chan<- connResult) {
	c, err := Connect(ctx, mb, role, opt)
	out <- connResult{c, err}
}

// transfer sends data on c, half-closes, and returns what c received.
func transfer(c *Conn, data []byte, got chan<- []byte, errs chan<- error) {
	var wg sync.WaitGroup
	wg.Add(1)
	go readAllTo(c, got, errs, &wg)
	if _, err := c.Write(data); err != nil {
		errs <- err
	}
	if err := c.CloseWrite(); err != nil {
		errs <- err
	}
	wg.Wait()
}

// readAllTo reads c to EOF and sends what it read to got.
func readAllTo(c *Conn, got chan<- []byte, errs chan<- error, wg *sync.WaitGroup) {
	defer wg.Done()
	b, err := io.ReadAll(c)
	if err != nil {
		errs <- err
	}
	got <- b
}

// transferIn is transfer for a WaitGroup.
func transferIn(wg *sync.WaitGroup, c *Conn, data []byte, got chan<- []byte, errs chan<- error) {
	defer wg.Done()
	transfer(c, data, got, errs)
}

// closeAndSignal closes c and then done.
func closeAndSignal(c *Conn, done chan<- struct{}) {
	c.Close()
	close(done)
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestConnectLoopback: both sides find the loopback pair, path lan, and
// 4 MiB cross each way intact with half-close; both Close cleanly.
func TestConnectLoopback(t *testing.T) {
	key := []byte("k")
	opt := Options{Interfaces: loopback}
	ra, rb := connectPair(t, key, key, opt, opt)
	if ra.err != nil || rb.err != nil {
		t.Fatalf("connect: creator %v, joiner %v", ra.err, rb.err)
	}
	for _, c := range []*Conn{ra.c, rb.c} {
		if p := c.Path(); p.Kind != "lan" || !p.Remote.Addr().IsLoopback() || !p.Local.Addr().IsLoopback() {
			t.Errorf("path %+v, want lan over loopback", p)
		}
	}
	if ra.c.RemoteAddr().(Addr).Port() != rb.c.Path().Local.Port() {
		t.Errorf("creator sees %v, joiner is at %v", ra.c.RemoteAddr(), rb.c.Path().Local)
	}
	exchange(t, ra.c, rb.c, 4<<20)
	done := make(chan struct{})
	go closeAndSignal(ra.c, done)
	rb.c.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("creator's Close did not return after both sides finished")
	}
}

// TestConnectReset: closing without CloseWrite resets: the peer's read
// fails with ECONNRESET instead of a clean EOF.
func TestConnectReset(t *testing.T) {
	key := []byte("k")
	opt := Options{Interfaces: loopback}
	ra, rb := connectPair(t, key, key, opt, opt)
	if ra.err != nil || rb.err != nil {
		t.Fatalf("connect: creator %v, joiner %v", ra.err, rb.err)
	}
	if _, err := rb.c.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	rb.c.Close()
	ra.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(ra.c)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after the peer reset: %v, want ECONNRESET", err)
	}
}

// TestConnectWrongKey: probes keyed differently are not accepted, so there
// is no path; both sides fail within bounded time naming --relay.
func TestConnectWrongKey(t *testing.T) {
	opt := Options{Interfaces: loopback, PunchTimeout: 500 * time.Millisecond}
	start := time.Now()
	ra, rb := connectPair(t, []byte("a"), []byte("b"), opt, opt)
	if ra.err == nil || rb.err == nil {
		t.Fatalf("connect with different keys: creator %v, joiner %v; want both to fail", ra.err, rb.err)
	}
	for _, err := range []error{ra.err, rb.err} {
		if !errors.Is(err, ErrNoPath) || !strings.Contains(err.Error(), "--relay") {
			t.Errorf("error %q: want ErrNoPath naming --relay", err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestPinMismatch: a QUIC handshake with a certificate other than the
// pinned one fails on both sides.
func TestPinMismatch(t *testing.T) {
	idA, idB, idC := mustIdentity(t), mustIdentity(t), mustIdentity(t)
	pkts := make(chan packet, 8)
	la, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	lb, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	sa := newPathSocket(la, false, addrPortOf(la.LocalAddr()), pkts)
	sb := newPathSocket(lb, false, addrPortOf(lb.LocalAddr()), pkts)
	defer sa.close()
	defer sb.close()
	ln, err := sa.tr.Listen(tlsConfig(idA, idC.fp, true), quicConfig()) // expects C, gets B
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err = dialStream(ctx, sb, choice{sock: sb, remote: sa.addr}, tlsConfig(idB, idA.fp, false))
	if err == nil {
		t.Fatal("dial succeeded although the server pinned another certificate")
	}
	_, _, err = dialStream(ctx, sb, choice{sock: sb, remote: sa.addr}, tlsConfig(idB, idC.fp, false))
	if err == nil {
		t.Fatal("dial succeeded although the client pinned another certificate")
	}
}

func mustIdentity(t *testing.T) *identity {
	id, err := newIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestPuncher: answers need the key, the other role, and the address the
// request went to.
func TestPuncher(t *testing.T) {
	key, bad := []byte("key"), []byte("other")
	pkts := make(chan packet, 8)
	uc, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	sock := newPathSocket(uc, false, addrPortOf(uc.LocalAddr()), pkts)
	defer sock.close()
	peer := netip.MustParseAddrPort("127.0.0.1:9")
	p := newPuncher(key, RoleJoiner, []Candidate{{Kind: CandHost, Addr: peer}})
	p.addSocket(sock)
	p.tick(time.Now())
	var id [8]byte
	for k := range p.pending {
		id = k
	}
	resp := func(k []byte, role Role, txid [8]byte) []byte {
		return encodeProbe(k, probe{Kind: probeResp, Role: role, TxID: txid})
	}
	other := netip.MustParseAddrPort("127.0.0.1:10")
	cases := []struct {
		name string
		pkt  packet
		ok   bool
	}{
		{"wrong key", packet{sock, resp(bad, RoleCreator, id), peer}, false},
		{"own role", packet{sock, resp(key, RoleJoiner, id), peer}, false},
		{"unknown txid", packet{sock, resp(key, RoleCreator, [8]byte{1}), peer}, false},
		{"other source", packet{sock, resp(key, RoleCreator, id), other}, false},
		{"stun-like", packet{sock, make([]byte, 30), peer}, false},
		{"good", packet{sock, resp(key, RoleCreator, id), peer}, true},
		{"replayed", packet{sock, resp(key, RoleCreator, id), peer}, false},
	}
	for _, c := range cases {
		ch, ok := p.handle(c.pkt)
		if ok != c.ok || ok && ch.remote != peer {
			t.Errorf("%s: handle = %v %v, want %v", c.name, ch.remote, ok, c.ok)
		}
	}
	// An authentic request from an unknown address is answered and learnt.
	req := encodeProbe(key, probe{Kind: probeReq, Role: RoleCreator, TxID: [8]byte{7}})
	p.handle(packet{sock, req, other})
	if !bytes.Contains([]byte(candString(p.remote)), []byte("peer 127.0.0.1:10")) {
		t.Errorf("remote after a request from %v: %s", other, candString(p.remote))
	}
}

func candString(cs []Candidate) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Kind.String() + " " + c.Addr.String() + ";")
	}
	return b.String()
}

// TestCloseWaitsForPeer: after FIN, Close waits until the peer has read
// everything (QUIC lives in the process: exiting earlier could lose the
// tail), and an ended linger context cuts that wait short.
func TestCloseWaitsForPeer(t *testing.T) {
	key := []byte("k")
	opt := Options{Interfaces: loopback}
	ra, rb := connectPair(t, key, key, opt, opt)
	if ra.err != nil || rb.err != nil {
		t.Fatalf("connect: creator %v, joiner %v", ra.err, rb.err)
	}
	data := randBytes(t, 1<<20)
	if _, err := rb.c.Write(data); err != nil {
		t.Fatal(err)
	}
	rb.c.CloseWrite()
	closed := make(chan struct{})
	go closeAndSignal(rb.c, closed)
	select {
	case <-closed:
		t.Fatal("Close returned before the peer read the data")
	case <-time.After(300 * time.Millisecond):
	}
	got, err := io.ReadAll(ra.c)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(data))
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the peer read everything")
	}

	ra2, rb2 := connectPair(t, key, key, opt, opt)
	if ra2.err != nil || rb2.err != nil {
		t.Fatalf("connect: creator %v, joiner %v", ra2.err, rb2.err)
	}
	rb2.c.Write(data)
	rb2.c.CloseWrite()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rb2.c.SetLingerContext(ctx)
	start := time.Now()
	rb2.c.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close with an ended linger context took %v", d)
	}
}

// exchange moves n bytes each way and checks them by SHA-256.
func exchange(t *testing.T, a, b *Conn, n int) {
	t.Helper()
	da, db := randBytes(t, n), randBytes(t, n)
	gotA, gotB := make(chan []byte, 1), make(chan []byte, 1)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	wg.Add(2)
	go transferIn(&wg, a, da, gotA, errs)
	go transferIn(&wg, b, db, gotB, errs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if x, y := <-gotA, <-gotB; sha256.Sum256(x) != sha256.Sum256(db) || sha256.Sum256(y) != sha256.Sum256(da) {
		t.Errorf("data differs: creator got %d bytes, joiner got %d (want %d each)", len(x), len(y), n)
	}
}
