package p2p

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes/p2p/p2ptest"
)

type handshakeResult struct {
	s   *Secure
	err error
}

// runHandshake runs both sides concurrently over an in-memory pair and
// waits for both.
func runHandshake(t testing.TB, a, b Mailbox, codeA, codeB Code) (creator, joiner handshakeResult) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go handshakeInto(ctx, &wg, a, codeA, RoleCreator, &creator)
	go handshakeInto(ctx, &wg, b, codeB, RoleJoiner, &joiner)
	wg.Wait()
	return creator, joiner
}

func handshakeInto(ctx context.Context, wg *sync.WaitGroup, mb Mailbox, code Code, role Role, out *handshakeResult) {
	defer wg.Done()
	s, err := Handshake(ctx, mb, code, role)
	if err != nil {
		mb.Close()
	}
	*out = handshakeResult{s, err}
}

func mustParse(t *testing.T, s string) Code {
	t.Helper()
	c, err := ParseCode(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestHandshakeSuccessAndSecureMessages(t *testing.T) {
	a, b := p2ptest.Pair()
	code := mustParse(t, "42-pluto-jupiter")
	c, j := runHandshake(t, a, b, code, code)
	if c.err != nil || j.err != nil {
		t.Fatalf("handshake: creator %v, joiner %v", c.err, j.err)
	}
	ctx := context.Background()
	msgs := []string{"hello joiner", "", strings.Repeat("x", MaxMessage)}
	for _, m := range msgs {
		if err := c.s.Send(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range msgs {
		got, err := j.s.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("joiner got %d bytes, want %d", len(got), len(want))
		}
	}
	if err := j.s.Send(ctx, []byte("hello creator")); err != nil {
		t.Fatal(err)
	}
	got, err := c.s.Recv(ctx)
	if err != nil || string(got) != "hello creator" {
		t.Fatalf("creator got %q, %v", got, err)
	}
	if err := c.s.Send(ctx, make([]byte, MaxMessage+1)); err == nil {
		t.Error("Send over MaxMessage succeeded")
	}
	ka, kb := c.s.ExportKey("probe", 32), j.s.ExportKey("probe", 32)
	if diff := cmp.Diff(ka, kb); diff != "" || len(ka) != 32 {
		t.Errorf("ExportKey differs between sides (-creator +joiner):\n%s", diff)
	}
	if bytes.Equal(ka, c.s.ExportKey("other", 32)) {
		t.Error("ExportKey gives the same key for two labels")
	}
}

func TestHandshakeMismatchBothSides(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"second word", "42-pluto-jupiter", "42-pluto-jamaica"},
		{"first word", "42-pluto-jupiter", "42-zulu-jupiter"},
		{"nameplate is bound", "42-pluto-jupiter", "43-pluto-jupiter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := p2ptest.Pair()
			var leaked []byte
			a.OnSend = func(m []byte) [][]byte { leaked = append(leaked, m...); return [][]byte{m} }
			c, j := runHandshake(t, a, b, mustParse(t, tt.a), mustParse(t, tt.b))
			if !errors.Is(c.err, ErrCodeMismatch) || !errors.Is(j.err, ErrCodeMismatch) {
				t.Fatalf("creator %v, joiner %v: want ErrCodeMismatch on both", c.err, j.err)
			}
			if c.s != nil || j.s != nil {
				t.Error("a Secure came back from a failed handshake")
			}
			for _, w := range []string{"pluto", "jupiter"} {
				if bytes.Contains(leaked, []byte(w)) {
					t.Errorf("the word %q went over the mailbox", w)
				}
			}
		})
	}
}

func TestHandshakeRoleConfusion(t *testing.T) {
	a, b := p2ptest.Pair()
	code := mustParse(t, "42-pluto-jupiter")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var r1, r2 handshakeResult
	wg.Add(2)
	go handshakeInto(ctx, &wg, a, code, RoleCreator, &r1)
	go handshakeInto(ctx, &wg, b, code, RoleCreator, &r2)
	wg.Wait()
	if r1.err == nil || r2.err == nil {
		t.Fatalf("two creators: %v, %v: want both to fail", r1.err, r2.err)
	}
}

// secureTamper builds a Secure pair whose creator-to-joiner messages pass
// through edit.
func securePair(t *testing.T, edit func([]byte) [][]byte) (*Secure, *Secure) {
	t.Helper()
	a, b := p2ptest.Pair()
	code := mustParse(t, "7-aardvark-adroitness")
	c, j := runHandshake(t, a, b, code, code)
	if c.err != nil || j.err != nil {
		t.Fatalf("handshake: %v, %v", c.err, j.err)
	}
	a.OnSend = edit
	return c.s, j.s
}

func TestSecureRejectsReplayReorderForgery(t *testing.T) {
	var held [][]byte
	tests := []struct {
		name string
		edit func([]byte) [][]byte
		ok   int // messages that decrypt before the failure
	}{
		{"replay", func(m []byte) [][]byte { return [][]byte{m, m} }, 1},
		{"reorder", func(m []byte) [][]byte {
			held = append(held, m)
			if len(held) == 2 {
				return [][]byte{held[1], held[0]}
			}
			return nil
		}, 0},
		{"bit flip", func(m []byte) [][]byte { m[len(m)-1] ^= 1; return [][]byte{m} }, 0},
		{"truncated", func(m []byte) [][]byte { return [][]byte{m[:len(m)-1]} }, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held = nil
			c, j := securePair(t, tt.edit)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for _, m := range []string{"first", "second"} {
				if err := c.Send(ctx, []byte(m)); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < tt.ok; i++ {
				if _, err := j.Recv(ctx); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if _, err := j.Recv(ctx); !errors.Is(err, ErrBadMessage) {
				t.Fatalf("err = %v, want ErrBadMessage", err)
			}
			if _, err := j.Recv(ctx); !errors.Is(err, ErrBadMessage) {
				t.Fatalf("after a bad message: err = %v, want ErrBadMessage again", err)
			}
		})
	}
}

func TestHandshakeBadPeerMessages(t *testing.T) {
	code := mustParse(t, "7-aardvark-adroitness")
	for _, tt := range []struct {
		name string
		role Role
		msg  []byte
	}{
		{"joiner gets garbage", RoleJoiner, []byte("garbage")},
		{"joiner gets identity share", RoleJoiner, concat([]byte{msgA}, make([]byte, sidSize+32), adCreator)},
		{"joiner gets empty", RoleJoiner, nil},
		{"creator gets wrong kind", RoleCreator, concat([]byte{msgC}, make([]byte, 200))},
		{"creator gets bad share", RoleCreator, concat([]byte{msgB}, bytes.Repeat([]byte{0xff}, 96), adJoiner)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := p2ptest.Pair()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := b.Send(ctx, tt.msg); err != nil {
				t.Fatal(err)
			}
			_, err := Handshake(ctx, a, code, tt.role)
			if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrCodeMismatch) {
				t.Fatalf("err = %v, want a prompt protocol error", err)
			}
		})
	}
}

func FuzzHandshakeJoiner(f *testing.F) {
	f.Add(concat([]byte{msgA}, make([]byte, sidSize+32), adCreator))
	f.Add([]byte("A"))
	code := Code{Nameplate: "7", Words: []string{"aardvark", "adroitness"}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, b := p2ptest.Pair()
		ctx := context.Background()
		b.Send(ctx, msg)
		b.Close()
		if _, err := Handshake(ctx, a, code, RoleJoiner); err == nil {
			t.Fatal("handshake succeeded against a fuzzed creator")
		}
	})
}

// FuzzHandshakeCreator feeds the creator a fuzzed joiner reply.
func FuzzHandshakeCreator(f *testing.F) {
	f.Add(concat([]byte{msgB}, make([]byte, 32+64), adJoiner))
	f.Add([]byte("B"))
	code := Code{Nameplate: "7", Words: []string{"aardvark", "adroitness"}}
	f.Fuzz(func(t *testing.T, msg []byte) {
		a, b := p2ptest.Pair()
		ctx := context.Background()
		b.Send(ctx, msg)
		b.Close()
		if _, err := Handshake(ctx, a, code, RoleCreator); err == nil {
			t.Fatal("handshake succeeded against a fuzzed joiner")
		}
	})
}

// BenchmarkHandshake is one full handshake (both sides) in memory.
func BenchmarkHandshake(b *testing.B) {
	code := Code{Nameplate: "7", Words: []string{"aardvark", "adroitness"}}
	for i := 0; i < b.N; i++ {
		x, y := p2ptest.Pair()
		c, j := runHandshake(b, x, y, code, code)
		if c.err != nil || j.err != nil {
			b.Fatal(c.err, j.err)
		}
	}
}

// TestSecureConcurrentSends sends from several goroutines at once: every
// message must arrive and authenticate (counters leave in order).
func TestSecureConcurrentSends(t *testing.T) {
	var n atomic.Int64
	// A pause inside the mailbox's Send widens any gap between taking a
	// counter and handing the message over.
	c, j := securePair(t, func(m []byte) [][]byte {
		time.Sleep(time.Duration(n.Add(1)%3) * time.Millisecond)
		return [][]byte{m}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const senders, each = 4, 20
	var wg sync.WaitGroup
	wg.Add(senders)
	for i := 0; i < senders; i++ {
		go sendMany(ctx, &wg, c, each)
	}
	for i := 0; i < senders*each; i++ {
		if _, err := j.Recv(ctx); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	wg.Wait()
}

func sendMany(ctx context.Context, wg *sync.WaitGroup, s *Secure, n int) {
	defer wg.Done()
	for i := 0; i < n; i++ {
		s.Send(ctx, []byte("concurrent"))
	}
}
