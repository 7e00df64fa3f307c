package rendezvous_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sockcat/sockcat/modes/p2p"
	"github.com/sockcat/sockcat/modes/p2p/rendezvous"
)

// closingHandshake is what --p2p does: the handshake, then the mailbox is
// closed at once on failure.
func closingHandshake(ctx context.Context, wg *sync.WaitGroup, mb p2p.Mailbox, code p2p.Code, role p2p.Role, out *hsResult) {
	defer wg.Done()
	out.s, out.err = p2p.Handshake(ctx, mb, code, role)
	if out.err != nil {
		mb.Close()
	}
}

// wrongCode runs a creator and a joiner with different words through url:
// both must fail with ErrCodeMismatch, not with a lost peer.
func wrongCode(t *testing.T, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := rendezvous.Open(ctx, []string{url}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	good := p2p.Code{Nameplate: a.Nameplate(), Words: []string{"pluto", "jupiter"}}
	bad := p2p.Code{Nameplate: a.Nameplate(), Words: []string{"pluto", "jamaica"}}
	b, err := rendezvous.Open(ctx, []string{url}, a.Nameplate())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var c, j hsResult
	var wg sync.WaitGroup
	wg.Add(2)
	go closingHandshake(ctx, &wg, a, good, p2p.RoleCreator, &c)
	go closingHandshake(ctx, &wg, b, bad, p2p.RoleJoiner, &j)
	wg.Wait()
	if !errors.Is(c.err, p2p.ErrCodeMismatch) || !errors.Is(j.err, p2p.ErrCodeMismatch) {
		t.Fatalf("creator %v, joiner %v: want ErrCodeMismatch on both", c.err, j.err)
	}
}

func TestWrongCodeThroughRendezvous(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := rendezvous.NewServer(rendezvous.ServerConfig{ConnRate: 1e9, ConnBurst: 1 << 30})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go serve(ctx, srv, ln, served)
	defer func() { cancel(); <-served }()
	for i := 0; i < 20; i++ {
		wrongCode(t, "sockcat://"+ln.Addr().String())
	}
}

func TestWrongCodeThroughMQTT(t *testing.T) {
	plain, _, _ := startMosquitto(t)
	for i := 0; i < 5; i++ {
		wrongCode(t, plain)
	}
}
