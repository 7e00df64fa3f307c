package p2p

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/sockcat/sockcat/modes/p2p/pake"
	"golang.org/x/crypto/chacha20poly1305"
)

// The handshake (all messages go through the Mailbox, which the rendezvous
// carries):
//
//	creator -> joiner  'A' sid[16] Ya[32] ADa
//	joiner  -> creator 'B' Yb[32] Tb[64] ADb
//	creator -> joiner  'C' Ta[64]
//
// CPace runs in the initiator-responder setting with the creator as
// initiator: PRS is the code's words, CI binds the protocol version and the
// nameplate, sid is 16 random bytes chosen by the creator, ADa and ADb name
// the roles (and the peer's must be the other role). Ta and Tb are the
// draft's key-confirmation tags. The creator sends Ta before checking Tb and
// the joiner checks Ta last, so a wrong code fails on both sides with
// ErrCodeMismatch and no key is ever used. What the rendezvous sees (sid,
// Ya, Yb, the tags) lets nobody test a guess at the words offline.
const (
	protoLabel = "sockcat-p2p-v1"
	sidSize    = 16
	msgA       = 'A'
	msgB       = 'B'
	msgC       = 'C'
	// maxSecureMessage bounds what Secure.Send accepts, well inside what a
	// rendezvous carries.
	maxSecureMessage = 16 << 10
)

var (
	adCreator = []byte(protoLabel + " creator")
	adJoiner  = []byte(protoLabel + " joiner")
)

// ErrBadMessage means a message failed authentication: forged, replayed,
// reordered or truncated. The Secure mailbox is unusable afterwards.
var ErrBadMessage = errors.New("p2p: a message failed authentication (forged, replayed or reordered)")

// MaxMessage is the largest plaintext Secure.Send accepts.
const MaxMessage = maxSecureMessage

// Secure is a [Mailbox] whose messages are encrypted and authenticated with
// the key the PAKE agreed on.
type Secure struct {
	mb Mailbox

	isk, sid []byte

	sendMu   sync.Mutex
	sendAEAD cipher.AEAD
	sendSeq  uint64

	recvMu   sync.Mutex
	recvAEAD cipher.AEAD
	recvSeq  uint64
	broken   bool
}

// Send encrypts msg and sends it. Each direction has its own key and a
// message counter as nonce, so the receiver rejects replays and reordering.
func (s *Secure) Send(ctx context.Context, msg []byte) error {
	if len(msg) > maxSecureMessage {
		return fmt.Errorf("p2p: message of %d bytes is over the %d-byte limit", len(msg), maxSecureMessage)
	}
	// The lock covers the send too: messages must leave in counter order.
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	ct := s.sendAEAD.Seal(nil, seqNonce(s.sendSeq), msg, nil)
	s.sendSeq++
	return s.mb.Send(ctx, ct)
}

// Recv receives, authenticates and decrypts the next message.
func (s *Secure) Recv(ctx context.Context) ([]byte, error) {
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	if s.broken {
		return nil, ErrBadMessage
	}
	ct, err := s.mb.Recv(ctx)
	if err != nil {
		return nil, err
	}
	pt, err := s.recvAEAD.Open(nil, seqNonce(s.recvSeq), ct, nil)
	if err != nil {
		s.broken = true
		return nil, ErrBadMessage
	}
	s.recvSeq++
	return pt, nil
}

// ExportKey derives n bytes of key material for label from the session key
// (for example to authenticate hole-punching probes); both sides get the
// same bytes for the same label, and different labels give independent keys.
func (s *Secure) ExportKey(label string, n int) []byte {
	k, err := hkdf.Key(sha512.New, s.isk, s.sid, protoLabel+" export "+label, n)
	if err != nil {
		// Only an n beyond HKDF-SHA-512's 16320 bytes gets here.
		panic(fmt.Sprintf("p2p: ExportKey(%q, %d): %v", label, n, err))
	}
	return k
}

// Close closes the underlying mailbox.
func (s *Secure) Close() error { return s.mb.Close() }

func seqNonce(seq uint64) []byte {
	n := make([]byte, chacha20poly1305.NonceSize)
	binary.BigEndian.PutUint64(n[4:], seq)
	return n
}

// newSecure derives the two directional keys from the ISK.
func newSecure(mb Mailbox, isk, sid []byte, role Role) (*Secure, error) {
	keyFor := func(dir string) (cipher.AEAD, error) {
		k, err := hkdf.Key(sha512.New, isk, sid, protoLabel+" "+dir, chacha20poly1305.KeySize)
		if err != nil {
			return nil, err
		}
		return chacha20poly1305.New(k)
	}
	c2j, err := keyFor("creator to joiner")
	if err != nil {
		return nil, fmt.Errorf("p2p: deriving keys: %w", err)
	}
	j2c, err := keyFor("joiner to creator")
	if err != nil {
		return nil, fmt.Errorf("p2p: deriving keys: %w", err)
	}
	s := &Secure{mb: mb, isk: isk, sid: sid, sendAEAD: c2j, recvAEAD: j2c}
	if role == RoleJoiner {
		s.sendAEAD, s.recvAEAD = j2c, c2j
	}
	return s, nil
}

// pakeInputs returns CPace's PRS and CI for code.
func pakeInputs(code Code) (prs, ci []byte) {
	return []byte(strings.Join(code.Words, "-")), pake.LVCat([]byte(protoLabel), []byte(code.Nameplate))
}

// Handshake runs the PAKE with key confirmation over mb for code, in role.
// A different code on the other side gives [ErrCodeMismatch] on both sides.
// On error mb is left open; the caller closes it.
func Handshake(ctx context.Context, mb Mailbox, code Code, role Role) (*Secure, error) {
	if len(code.Words) != 2 {
		return nil, fmt.Errorf("p2p: handshake: %w", errCodeShape)
	}
	switch role {
	case RoleCreator:
		return handshakeCreator(ctx, mb, code)
	case RoleJoiner:
		return handshakeJoiner(ctx, mb, code)
	}
	return nil, fmt.Errorf("p2p: handshake: unknown role %d", role)
}

func handshakeCreator(ctx context.Context, mb Mailbox, code Code) (*Secure, error) {
	prs, ci := pakeInputs(code)
	sid := make([]byte, sidSize)
	if _, err := rand.Read(sid); err != nil {
		return nil, fmt.Errorf("p2p: handshake: %w", err)
	}
	me, err := pake.NewParty(prs, ci, sid)
	if err != nil {
		return nil, fmt.Errorf("p2p: handshake: %w", err)
	}
	ya := me.Share()
	if err := mb.Send(ctx, concat([]byte{msgA}, sid, ya, adCreator)); err != nil {
		return nil, fmt.Errorf("p2p: handshake: sending: %w", err)
	}
	m, err := recvKind(ctx, mb, msgB, 1+pake.ElementSize+pake.TagSize)
	if err != nil {
		return nil, err
	}
	yb, tb, adb := m[1:1+pake.ElementSize], m[1+pake.ElementSize:1+pake.ElementSize+pake.TagSize], m[1+pake.ElementSize+pake.TagSize:]
	if string(adb) != string(adJoiner) {
		return nil, fmt.Errorf("p2p: handshake: the peer is not a joiner of protocol %s", protoLabel)
	}
	isk, err := me.ISK(ya, adCreator, yb, adb)
	if err != nil {
		return nil, fmt.Errorf("p2p: handshake: %w", err)
	}
	// Send Ta whatever Tb says, so a mismatch is seen on both sides.
	if err := mb.Send(ctx, concat([]byte{msgC}, pake.ConfirmationTag(isk, sid, ya, adCreator))); err != nil {
		return nil, fmt.Errorf("p2p: handshake: sending: %w", err)
	}
	if !pake.VerifyTag(isk, sid, yb, adb, tb) {
		return nil, ErrCodeMismatch
	}
	return newSecure(mb, isk, sid, RoleCreator)
}

func handshakeJoiner(ctx context.Context, mb Mailbox, code Code) (*Secure, error) {
	prs, ci := pakeInputs(code)
	m, err := recvKind(ctx, mb, msgA, 1+sidSize+pake.ElementSize)
	if err != nil {
		return nil, err
	}
	sid, ya, ada := m[1:1+sidSize], m[1+sidSize:1+sidSize+pake.ElementSize], m[1+sidSize+pake.ElementSize:]
	if string(ada) != string(adCreator) {
		return nil, fmt.Errorf("p2p: handshake: the peer is not a creator of protocol %s", protoLabel)
	}
	me, err := pake.NewParty(prs, ci, sid)
	if err != nil {
		return nil, fmt.Errorf("p2p: handshake: %w", err)
	}
	yb := me.Share()
	isk, err := me.ISK(ya, ada, yb, adJoiner)
	if err != nil {
		return nil, fmt.Errorf("p2p: handshake: %w", err)
	}
	tb := pake.ConfirmationTag(isk, sid, yb, adJoiner)
	if err := mb.Send(ctx, concat([]byte{msgB}, yb, tb, adJoiner)); err != nil {
		return nil, fmt.Errorf("p2p: handshake: sending: %w", err)
	}
	m, err = recvKind(ctx, mb, msgC, 1+pake.TagSize)
	if err != nil {
		return nil, err
	}
	if len(m) != 1+pake.TagSize || !pake.VerifyTag(isk, sid, ya, ada, m[1:]) {
		return nil, ErrCodeMismatch
	}
	return newSecure(mb, isk, sid, RoleJoiner)
}

// recvKind receives the next handshake message and checks its kind and
// minimum length.
func recvKind(ctx context.Context, mb Mailbox, kind byte, minLen int) ([]byte, error) {
	m, err := mb.Recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("p2p: handshake: waiting for the peer: %w", err)
	}
	if len(m) < minLen || m[0] != kind || len(m) > minLen+64 {
		return nil, fmt.Errorf("p2p: handshake: unexpected message from the peer (want %q, %d bytes)", kind, len(m))
	}
	return m, nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
