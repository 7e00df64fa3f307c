package rendezvous_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockcat/sockcat/modes/p2p"
	"github.com/sockcat/sockcat/modes/p2p/rendezvous"
)

// recordingListener keeps a copy of every byte the server reads.
type recordingListener struct {
	net.Listener
	mu  sync.Mutex
	got bytes.Buffer
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, l: l}, nil
}

func (l *recordingListener) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.got.Bytes()...)
}

type recordingConn struct {
	net.Conn
	l *recordingListener
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.l.mu.Lock()
	c.l.got.Write(b[:n])
	c.l.mu.Unlock()
	return n, err
}

func serve(ctx context.Context, srv *rendezvous.Server, ln net.Listener, done chan<- error) {
	done <- srv.Serve(ctx, ln)
}

// TestRendezvousSeesNoWordsNorPayload runs a full handshake and a secure
// exchange through a server that records all it receives, and checks that
// neither the code's words nor the payload are in the recording.
func TestRendezvousSeesNoWordsNorPayload(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingListener{Listener: ln}
	srv := rendezvous.NewServer(rendezvous.ServerConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srvCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go serve(srvCtx, srv, rec, served)
	defer func() { stop(); <-served }()
	url := []string{"sockcat://" + ln.Addr().String()}

	a, err := rendezvous.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	code, err := p2p.NewCode(a.Nameplate())
	if err != nil {
		t.Fatal(err)
	}
	b, err := rendezvous.Open(ctx, url, code.Nameplate)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var creator, joiner hsResult
	var wg sync.WaitGroup
	wg.Add(2)
	go handshakeInto(ctx, &wg, a, code, p2p.RoleCreator, &creator)
	go handshakeInto(ctx, &wg, b, code, p2p.RoleJoiner, &joiner)
	wg.Wait()
	if creator.err != nil || joiner.err != nil {
		t.Fatalf("handshake: %v, %v", creator.err, joiner.err)
	}
	payload := []byte("candidate 192.0.2.7:4242 fingerprint SECRET-PAYLOAD-" + strings.Repeat("p", 100))
	if err := creator.s.Send(ctx, payload); err != nil {
		t.Fatal(err)
	}
	got, err := joiner.s.Recv(ctx)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("joiner got %q, %v", got, err)
	}
	reply := []byte("REPLY-PAYLOAD-from-the-joiner")
	joiner.s.Send(ctx, reply)
	if got, err := creator.s.Recv(ctx); err != nil || !bytes.Equal(got, reply) {
		t.Fatalf("creator got %q, %v", got, err)
	}
	creator.s.Close()
	joiner.s.Close()
	stop()
	<-served
	served <- nil

	seen := rec.bytes()
	if len(seen) < 200 {
		t.Fatalf("recorded only %d bytes: the recording is broken", len(seen))
	}
	if !bytes.Contains(seen, []byte(code.Nameplate)) {
		t.Fatalf("the nameplate is not in the recording: the recording is broken")
	}
	secrets := append([]string{code.String(), "SECRET-PAYLOAD", "REPLY-PAYLOAD", "192.0.2.7"}, code.Words...)
	for _, s := range secrets {
		for _, form := range []string{s, strings.ToUpper(s)} {
			if bytes.Contains(seen, []byte(form)) {
				t.Errorf("the rendezvous received %q", form)
			}
		}
	}
}

// BenchmarkMeetAndHandshake is allocate, claim and a full handshake through
// a sockcat rendezvous on loopback.
func BenchmarkMeetAndHandshake(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := rendezvous.NewServer(rendezvous.ServerConfig{ConnRate: 1e9, ConnBurst: 1 << 30, MsgRate: 1e9, MsgBurst: 1 << 30})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go serve(ctx, srv, ln, served)
	defer func() { cancel(); <-served }()
	url := []string{"sockcat://" + ln.Addr().String()}
	for i := 0; i < b.N; i++ {
		a, err := rendezvous.Open(ctx, url, "")
		if err != nil {
			b.Fatal(err)
		}
		code, _ := p2p.NewCode(a.Nameplate())
		j, err := rendezvous.Open(ctx, url, code.Nameplate)
		if err != nil {
			b.Fatal(err)
		}
		var cr, jr hsResult
		var wg sync.WaitGroup
		wg.Add(2)
		go handshakeInto(ctx, &wg, a, code, p2p.RoleCreator, &cr)
		go handshakeInto(ctx, &wg, j, code, p2p.RoleJoiner, &jr)
		wg.Wait()
		if cr.err != nil || jr.err != nil {
			b.Fatal(cr.err, jr.err)
		}
		a.Close()
		j.Close()
	}
}
