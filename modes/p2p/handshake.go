package p2p

import (
	"context"
	"errors"
)

// Secure is a [Mailbox] whose messages are encrypted and authenticated with
// the key the PAKE agreed on.
type Secure struct {
	mb Mailbox
}

// Send encrypts msg and sends it.
func (s *Secure) Send(ctx context.Context, msg []byte) error { return errors.New("not implemented") }

// Recv receives, authenticates and decrypts the next message.
func (s *Secure) Recv(ctx context.Context) ([]byte, error) { return nil, errors.New("not implemented") }

// ExportKey derives n bytes of key material for label from the session key
// (for example to authenticate hole-punching probes); both sides get the
// same bytes for the same label.
func (s *Secure) ExportKey(label string, n int) []byte { return nil }

// Close closes the underlying mailbox.
func (s *Secure) Close() error { return s.mb.Close() }

// Handshake runs the PAKE with key confirmation over mb for code, in role.
// A different code on the other side gives [ErrCodeMismatch] on both sides.
func Handshake(ctx context.Context, mb Mailbox, code Code, role Role) (*Secure, error) {
	return nil, errors.New("p2p: Handshake not implemented")
}
