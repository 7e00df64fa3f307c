// Package p2p connects two machines that each sit behind a NAT (SPEC §15):
// a short code, a PAKE over a rendezvous, then a direct UDP path (or a TURN
// relay) carrying one end-to-end encrypted QUIC stream.
//
// The pieces and their owners:
//   - code.go, words.go: codes (NUMBER-WORD-WORD) and the word list.
//   - handshake.go: the PAKE with key confirmation over a [Mailbox], giving a
//     [Secure] mailbox whose messages are encrypted with the session key.
//   - rendezvous/: the wire protocol, the server and the clients that make a
//     [Mailbox] out of a rendezvous URL.
//   - the transport files: candidates, hole punching, QUIC, relay.
package p2p

import (
	"context"
	"errors"
)

// Mailbox is an ordered, reliable exchange of small opaque messages between
// the two holders of one nameplate. A rendezvous connection is one; a
// [Secure] mailbox wraps one.
type Mailbox interface {
	// Send delivers msg to the other side, in order.
	Send(ctx context.Context, msg []byte) error
	// Recv returns the other side's next message.
	Recv(ctx context.Context) ([]byte, error)
	// Close releases the mailbox; pending Recv calls return an error.
	Close() error
}

// Role says which side of a code a process holds.
type Role int

// The two roles: the side that created the code, and the side that typed it.
const (
	RoleCreator Role = 1
	RoleJoiner  Role = 2
)

// ErrCodeMismatch is returned by [Handshake] on both sides when the two codes
// differ: key confirmation failed and no data may move.
var ErrCodeMismatch = errors.New("the code did not match: check it and start again")
