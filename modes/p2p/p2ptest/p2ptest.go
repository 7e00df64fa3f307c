// Package p2ptest has test helpers for code built on p2p.Mailbox: an
// in-memory pair of mailboxes joined back to back.
package p2ptest

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned by Send and Recv on a closed mailbox, and by Recv
// once the other side closed and every message it sent was read.
var ErrClosed = errors.New("p2ptest: mailbox closed")

// queue is one direction: messages in order, and whether the sender left.
type queue struct {
	mu     sync.Mutex
	msgs   [][]byte
	closed bool
	wake   chan struct{} // closed and replaced whenever the queue changes
}

func newQueue() *queue { return &queue{wake: make(chan struct{})} }

func (q *queue) changed() {
	close(q.wake)
	q.wake = make(chan struct{})
}

// Mailbox is one end of an in-memory pair. It implements p2p.Mailbox:
// messages are delivered in order, without limit on how many wait.
type Mailbox struct {
	in, out *queue
	once    sync.Once
	local   chan struct{} // closed by Close
	// OnSend, when set before use, sees (and may replace) every message
	// this side sends; returning nil drops the message.
	OnSend func(msg []byte) [][]byte
}

// Pair returns two mailboxes joined back to back.
func Pair() (*Mailbox, *Mailbox) {
	ab, ba := newQueue(), newQueue()
	return &Mailbox{in: ba, out: ab, local: make(chan struct{})},
		&Mailbox{in: ab, out: ba, local: make(chan struct{})}
}

// Send delivers a copy of msg to the other side.
func (m *Mailbox) Send(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-m.local:
		return ErrClosed
	default:
	}
	msgs := [][]byte{msg}
	if m.OnSend != nil {
		msgs = m.OnSend(append([]byte(nil), msg...))
	}
	m.out.mu.Lock()
	defer m.out.mu.Unlock()
	if m.out.closed {
		return ErrClosed
	}
	for _, x := range msgs {
		m.out.msgs = append(m.out.msgs, append([]byte(nil), x...))
	}
	m.out.changed()
	return nil
}

// Recv returns the other side's next message.
func (m *Mailbox) Recv(ctx context.Context) ([]byte, error) {
	for {
		m.in.mu.Lock()
		if len(m.in.msgs) > 0 {
			msg := m.in.msgs[0]
			m.in.msgs = m.in.msgs[1:]
			m.in.mu.Unlock()
			return msg, nil
		}
		closed, wake := m.in.closed, m.in.wake
		m.in.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-wake:
		case <-m.local:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close ends this side: its pending and later Recv calls fail, and the other
// side's Recv fails once it has read what was sent.
func (m *Mailbox) Close() error {
	m.once.Do(func() {
		close(m.local)
		m.out.mu.Lock()
		m.out.closed = true
		m.out.changed()
		m.out.mu.Unlock()
	})
	return nil
}
