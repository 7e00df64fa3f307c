// Package rendezvous is the meeting point of --p2p: a small protocol that
// passes opaque messages between the two holders of a nameplate, its server
// (`sockcat rendezvous`) and clients for sockcat:// and mqtt(s):// URLs.
package rendezvous

import (
	"context"
	"errors"
)

// Conn is one side's connection to a nameplate on a rendezvous. It is a
// p2p.Mailbox.
type Conn struct{}

// Open connects to the first of urls that answers. With nameplate "" it
// allocates a fresh nameplate (read it with [Conn.Nameplate]); otherwise it
// claims the given one.
func Open(ctx context.Context, urls []string, nameplate string) (*Conn, error) {
	return nil, errors.New("rendezvous: not implemented")
}

// Nameplate is the nameplate this connection holds.
func (c *Conn) Nameplate() string { return "" }

// Send delivers msg to the other holder of the nameplate.
func (c *Conn) Send(ctx context.Context, msg []byte) error { return errors.New("not implemented") }

// Recv returns the other holder's next message.
func (c *Conn) Recv(ctx context.Context) ([]byte, error) { return nil, errors.New("not implemented") }

// Close leaves the nameplate.
func (c *Conn) Close() error { return nil }
