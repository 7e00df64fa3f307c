package modes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// payloadFor returns n pseudo-random bytes whose values are all ≡ id mod k,
// so that the client a byte came from can be told by looking at it.
func payloadFor(id, k, n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(id)))
	b := make([]byte, n)
	for i := range b {
		v := int(r.Uint32()&0xff) / k * k
		if v+id > 255 {
			v -= k
		}
		b[i] = byte(v + id)
	}
	return b
}

// TestKeepOpenClients: four clients at once under -k. Each client's bytes
// reach stdout whole (sha256 per client) and never cut by another client's
// inside one write; stdin reaches every client whole, then FIN.
func TestKeepOpenClients(t *testing.T) {
	const (
		clients = 4
		upSize  = 1 << 20
		inSize  = 512 << 10
	)
	inR, inW := io.Pipe()
	defer inW.Close()
	out := &chunkRecorder{}
	errb := &srvBuffer{}
	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Verbose = true
	srv := startServer(t, cfg, Stdio{In: inR, Out: out, Err: errb})

	stdin := payloadFor(0, 1, inSize, 99)
	ups := make([][]byte, clients)
	conns := make([]net.Conn, clients)
	for i := range conns {
		ups[i] = payloadFor(i, clients, upSize, 7)
		conns[i] = dial(t, "tcp", srv.addr)
	}
	errb.waitFor(t, fmt.Sprintf("(%d connected)", clients))

	var wg sync.WaitGroup
	got := make([][32]byte, clients)
	for i, c := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := c.Write(ups[i]); err != nil {
				t.Errorf("client %d: write: %v", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			h := sha256.New()
			c.SetReadDeadline(time.Now().Add(srvWait))
			if _, err := io.Copy(h, c); err != nil {
				t.Errorf("client %d: read: %v", i, err)
			}
			copy(got[i][:], h.Sum(nil))
			// Only now: a client's EOF ends its session (SPEC §5), and
			// with it the stdin it would still receive.
			c.(*net.TCPConn).CloseWrite()
		}()
	}
	if _, err := inW.Write(stdin); err != nil {
		t.Fatal(err)
	}
	inW.Close()
	wg.Wait()
	for i := range got {
		if got[i] != sha256.Sum256(stdin) {
			t.Errorf("client %d: stdin arrived with another sha256", i)
		}
	}

	deadline := time.Now().Add(srvWait)
	for out.size() < clients*upSize && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	per := make([][]byte, clients)
	for n, ch := range out.chunks {
		id := int(ch[0]) % clients
		for _, b := range ch {
			if int(b)%clients != id {
				t.Fatalf("write %d mixes bytes of clients %d and %d", n, id, int(b)%clients)
			}
		}
		per[id] = append(per[id], ch...)
	}
	for i := range per {
		if sha256.Sum256(per[i]) != sha256.Sum256(ups[i]) {
			t.Errorf("client %d: stdout has %d bytes of it, want %d (sha256 differs)", i, len(per[i]), upSize)
		}
	}
	if err := srv.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("-k ended with %v, want context.Canceled (interrupted)", err)
	}
}

// TestKeepOpenMaxConns: with -m 2 a third client is closed at once and
// logged; once a client leaves there is room again. (With a terminal on
// stdin a client leaves at its EOF; otherwise it would keep receiving stdin,
// as a single connection does.)
func TestKeepOpenMaxConns(t *testing.T) {
	errb := &srvBuffer{}
	out := &srvBuffer{}
	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Serve.MaxConns = 2
	cfg.Verbose = true
	cfg.StdinTTY = true
	inR, inW := io.Pipe()
	defer inW.Close()
	srv := startServer(t, cfg, Stdio{In: inR, Out: out, Err: errb})

	c1 := dial(t, "tcp", srv.addr)
	c2 := dial(t, "tcp", srv.addr)
	errb.waitFor(t, "(2 connected)")
	c3, err := net.Dial("tcp", srv.addr)
	if err == nil {
		defer c3.Close()
		c3.SetReadDeadline(time.Now().Add(srvWait))
		var n int
		n, err = c3.Read(make([]byte, 1))
		if n != 0 {
			t.Fatalf("third client: read %d bytes; want it reset at once", n)
		}
		errb.waitFor(t, fmt.Sprintf("refused connection from %s: 2 clients connected (-m 2)", c3.LocalAddr()))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("third client: %v; want it reset at once (SPEC §5)", err)
	}
	errb.waitFor(t, "2 clients connected (-m 2)")

	c1.Write([]byte("one\n"))
	c1.Close()
	errb.waitFor(t, "disconnected: sent 0 B, received 4 B (1 connected)")
	c4 := dial(t, "tcp", srv.addr)
	c4.Write([]byte("four\n"))
	c2.Write([]byte("two\n"))
	out.waitFor(t, "four\n")
	out.waitFor(t, "two\n")
	if strings.Contains(out.String(), "three") {
		t.Error("the refused client was heard")
	}
}

// TestKeepOpenLateClient: stdin is read once a first client is there; after
// stdin EOF a client that arrives gets FIN at once and is still heard.
func TestKeepOpenLateClient(t *testing.T) {
	errb := &srvBuffer{}
	out := &srvBuffer{}
	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Verbose = true
	srv := startServer(t, cfg, Stdio{In: strings.NewReader("early\n"), Out: out, Err: errb})

	c1 := dial(t, "tcp", srv.addr)
	c1.SetReadDeadline(time.Now().Add(srvWait))
	if b, err := io.ReadAll(c1); string(b) != "early\n" || err != nil {
		t.Fatalf("first client got %q, %v; want stdin then EOF", b, err)
	}
	c2 := dial(t, "tcp", srv.addr)
	c2.SetReadDeadline(time.Now().Add(srvWait))
	if b, err := io.ReadAll(c2); len(b) != 0 || err != nil {
		t.Fatalf("late client got %q, %v; want EOF at once", b, err)
	}
	c2.Write([]byte("late but heard\n"))
	out.waitFor(t, "late but heard\n")
}

// TestKeepOpenQuitAfter: -q after stdin EOF ends a -k server normally.
func TestKeepOpenQuitAfter(t *testing.T) {
	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Stream.QuitAfter = 50 * time.Millisecond
	srv := startServer(t, cfg, Stdio{In: strings.NewReader("x"), Out: io.Discard, Err: io.Discard})
	c := dial(t, "tcp", srv.addr)
	io.ReadAll(c)
	if err := srv.result(t); err != nil {
		t.Fatalf("-k -q: %v, want nil", err)
	}
}

// TestKeepOpenUDP: -k -u sends stdin to every sender heard from, and prints
// every sender's datagrams.
func TestKeepOpenUDP(t *testing.T) {
	errb := &srvBuffer{}
	out := &srvBuffer{}
	inR, inW := io.Pipe()
	defer inW.Close()
	cfg := listenCfg()
	cfg.UDP = true
	cfg.Serve.KeepOpen = true
	cfg.Verbose = true
	srv := startServer(t, cfg, Stdio{In: inR, Out: out, Err: errb})

	var cs []net.Conn
	for i := range 3 {
		c := dial(t, "udp", srv.addr)
		fmt.Fprintf(c, "hello from %d\n", i)
		errb.waitFor(t, "new sender "+c.LocalAddr().String())
		cs = append(cs, c)
	}
	inW.Write([]byte("to all\n"))
	for i, c := range cs {
		c.SetReadDeadline(time.Now().Add(srvWait))
		b := make([]byte, 100)
		n, err := c.Read(b)
		if string(b[:n]) != "to all\n" || err != nil {
			t.Errorf("sender %d got %q, %v", i, b[:n], err)
		}
		out.waitFor(t, fmt.Sprintf("hello from %d\n", i))
	}
}

// TestReadPooled: the buffer-free wait, then a pooled read, then EOF.
func TestReadPooled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := dial(t, "tcp", ln.Addr().String())
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pool := newBufPool(1024)
	got := make(chan string, 1)
	go func() {
		var all bytes.Buffer
		for {
			err := readPooled(s, pool, func(b []byte) error { all.Write(b); return nil })
			if err != nil {
				got <- all.String() + "|" + err.Error()
				return
			}
		}
	}()
	c.Write([]byte("abc"))
	c.(*net.TCPConn).CloseWrite()
	if g := <-got; g != "abc|EOF" {
		t.Errorf("readPooled: %q, want abc then EOF", g)
	}
}

// TestKeepOpenIdleTimeout: -i closes a client under -k once nothing moved
// for that long; the server keeps running.
func TestKeepOpenIdleTimeout(t *testing.T) {
	errb := &srvBuffer{}
	inR, inW := io.Pipe()
	defer inW.Close()
	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Stream.IdleTimeout = 100 * time.Millisecond
	cfg.Verbose = true
	srv := startServer(t, cfg, Stdio{In: inR, Out: io.Discard, Err: errb})
	c := dial(t, "tcp", srv.addr)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(srvWait))
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("idle client: %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout", d)
	}
	errb.waitFor(t, c.LocalAddr().String()+": idle timeout; closed (0 connected)")
	c2 := dial(t, "tcp", srv.addr)
	errb.waitFor(t, "connection from "+c2.LocalAddr().String()+" (1 connected)")
}

// TestPeerTrackerBounded: a datagram listener's memory of senders stays
// bounded however many distinct senders it hears from (issue 10: 1.2 M
// source ports took it from 11.6 to 141 MB).
func TestPeerTrackerBounded(t *testing.T) {
	p := newPeerTracker()
	p.keep = 100
	for i := range 50000 {
		a := &net.UDPAddr{IP: net.IPv4(127, 1, byte(i>>8), byte(i)), Port: 1024 + i%50000}
		if got := p.note(a); got != senderNew {
			t.Fatalf("sender %d: note = %d, want senderNew", i, got)
		}
	}
	if len(p.seen) > maxSendersSeen || len(p.senders) > p.keep {
		t.Errorf("after 50000 senders: %d remembered, %d kept for stdin; want at most %d and %d",
			len(p.seen), len(p.senders), maxSendersSeen, p.keep)
	}
	i := 49999
	last := &net.UDPAddr{IP: net.IPv4(127, 1, byte(i>>8), byte(i)), Port: 1024 + i%50000}
	if got := p.note(last); got != senderKnown {
		t.Errorf("the latest sender again: note = %d, want senderKnown", got)
	}
}
