package p2ptest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPairOrderAndClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, b := Pair()
	for _, m := range []string{"one", "two", "three"} {
		if err := a.Send(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	var got []string
	for {
		m, err := b.Recv(ctx)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m))
	}
	if diff := cmp.Diff([]string{"one", "two", "three"}, got); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}
	if err := b.Send(ctx, []byte("x")); err != nil {
		t.Errorf("send towards a closed side: %v (want it queued silently)", err)
	}
}

func TestRecvUnblocksOnClose(t *testing.T) {
	a, _ := Pair()
	done := make(chan error, 1)
	go recvInto(a, done)
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Recv after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv did not return after Close")
	}
}

func recvInto(m *Mailbox, done chan<- error) {
	_, err := m.Recv(context.Background())
	done <- err
}
