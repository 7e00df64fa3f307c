// Package pake is CPace (draft-irtf-cfrg-cpace) over ristretto255 with
// SHA-512, the cipher suite CPACE-RISTR255-SHA512, plus the draft's
// recommended explicit key confirmation.
//
// Everything here composes vetted primitives exactly as the draft writes
// them: the group arithmetic is circl's ristretto255 (its element derivation
// from 64 uniform bytes is the RFC 9496 one-way map, through go-ristretto,
// circl's own backend), hashing is crypto/sha512, the confirmation MAC is
// crypto/hmac. The test file checks every step against the draft's published
// test vectors.
//
// Why a PAKE: the two parties share only a short, low-entropy secret (the
// words of a code). Anyone who sees the messages of a run (a rendezvous, a
// relay) learns nothing that lets them test guesses offline; an active
// attacker gets one guess per run, and a wrong guess makes key confirmation
// fail on both sides.
package pake

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"

	r255 "github.com/bwesterb/go-ristretto"
	"github.com/cloudflare/circl/group"
)

// The suite's constants (draft section "CPace group objects G_Ristretto255").
const (
	// DSI is G_Ristretto255.DSI.
	DSI = "CPaceRistretto255"
	// hashBlockSize is H.s_in_bytes for SHA-512.
	hashBlockSize = 128
	// ElementSize is the length of an encoded ristretto255 element.
	ElementSize = 32
	// ISKSize is the length of the intermediate session key (SHA-512).
	ISKSize = sha512.Size
	// TagSize is the length of a key-confirmation tag (HMAC-SHA-512).
	TagSize = sha512.Size
)

// ErrBadElement is returned when a peer's share does not decode to a
// ristretto255 element or yields the neutral element: the run must abort.
var ErrBadElement = errors.New("cpace: peer's share is not a valid group element")

// PrependLen is the draft's prepend_len: the LEB128 length of data, then data.
func PrependLen(data []byte) []byte {
	n := len(data)
	var out []byte
	for {
		if n < 128 {
			out = append(out, byte(n))
		} else {
			out = append(out, byte(n&0x7f)|0x80)
		}
		n >>= 7
		if n == 0 {
			break
		}
	}
	return append(out, data...)
}

// LVCat is the draft's lv_cat: every argument with its length prepended.
func LVCat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, PrependLen(p)...)
	}
	return out
}

// GeneratorString is the draft's generator_string(G.DSI, PRS, CI, sid,
// H.s_in_bytes) for this suite.
func GeneratorString(prs, ci, sid []byte) []byte {
	zpad := hashBlockSize - 1 - len(PrependLen(prs)) - len(PrependLen([]byte(DSI)))
	if zpad < 0 {
		zpad = 0
	}
	return LVCat([]byte(DSI), prs, make([]byte, zpad), ci, sid)
}

// CalculateGenerator is G.calculate_generator(H, PRS, CI, sid): SHA-512 of
// the generator string, mapped to the group with ristretto255's element
// derivation (the RFC 9496 one-way map on 64 bytes).
func CalculateGenerator(prs, ci, sid []byte) group.Element {
	h := sha512.Sum512(GeneratorString(prs, ci, sid))
	var half [32]byte
	copy(half[:], h[:32])
	p0 := new(r255.Point).SetElligator(&half)
	copy(half[:], h[32:])
	p1 := new(r255.Point).SetElligator(&half)
	p0.Add(p0, p1)
	g := group.Ristretto255.NewElement()
	if err := g.UnmarshalBinary(p0.Bytes()); err != nil {
		// The encoding of a point just computed always decodes.
		panic(fmt.Sprintf("cpace: re-decoding a generator: %v", err))
	}
	return g
}

// TranscriptIR is the draft's transcript_ir(Ya, ADa, Yb, ADb) for the
// initiator-responder setting.
func TranscriptIR(ya, ada, yb, adb []byte) []byte {
	return append(LVCat(ya, ada), LVCat(yb, adb)...)
}

// SampleScalar is the draft's recommended G.sample_scalar: 32 random bytes
// with the bits above group_size_bits (252) cleared, read little-endian.
func SampleScalar() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("cpace: random scalar: %w", err)
	}
	b[31] &= 0x0f
	return b, nil
}

// Party is one side of a CPace run: its secret scalar and public share.
type Party struct {
	y     group.Scalar
	share []byte
	sid   []byte
}

// NewParty starts a run with PRS prs, channel identifier ci and session id
// sid, with a fresh random scalar.
func NewParty(prs, ci, sid []byte) (*Party, error) {
	y, err := SampleScalar()
	if err != nil {
		return nil, err
	}
	return NewPartyWithScalar(prs, ci, sid, y)
}

// NewPartyWithScalar is [NewParty] with the scalar given as 32 little-endian
// bytes (for test vectors). A zero scalar is refused.
func NewPartyWithScalar(prs, ci, sid, scalar []byte) (*Party, error) {
	y := group.Ristretto255.NewScalar()
	if err := y.UnmarshalBinary(scalar); err != nil {
		return nil, fmt.Errorf("cpace: bad scalar: %w", err)
	}
	if y.IsZero() {
		return nil, errors.New("cpace: zero scalar")
	}
	g := CalculateGenerator(prs, ci, sid)
	Y, err := group.Ristretto255.NewElement().Mul(g, y).MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("cpace: encoding share: %w", err)
	}
	return &Party{y: y, share: Y, sid: append([]byte(nil), sid...)}, nil
}

// Share is this party's public share Y (G.scalar_mult(y, g)).
func (p *Party) Share() []byte { return append([]byte(nil), p.share...) }

// SharedPoint is G.scalar_mult_vfy(y, X): the encoded y*X, or ErrBadElement
// when X does not decode or the result is the neutral element.
func (p *Party) SharedPoint(x []byte) ([]byte, error) {
	X := group.Ristretto255.NewElement()
	if len(x) != ElementSize || X.UnmarshalBinary(x) != nil {
		return nil, ErrBadElement
	}
	K := group.Ristretto255.NewElement().Mul(X, p.y)
	if K.IsIdentity() {
		return nil, ErrBadElement
	}
	return K.MarshalBinary()
}

// ISK computes the intermediate session key from the peer's share, in the
// initiator-responder setting: (ya, ada) are the initiator's share and
// associated data, (yb, adb) the responder's; one of the two shares must be
// this party's.
func (p *Party) ISK(ya, ada, yb, adb []byte) ([]byte, error) {
	var peer []byte
	switch {
	case subtle.ConstantTimeCompare(ya, p.share) == 1:
		peer = yb
	case subtle.ConstantTimeCompare(yb, p.share) == 1:
		peer = ya
	default:
		return nil, errors.New("cpace: neither share is this party's")
	}
	K, err := p.SharedPoint(peer)
	if err != nil {
		return nil, err
	}
	h := sha512.New()
	h.Write(LVCat([]byte(DSI+"_ISK"), p.sid, K))
	h.Write(TranscriptIR(ya, ada, yb, adb))
	return h.Sum(nil), nil
}

// ConfirmationTag is the draft's explicit key confirmation: with mac_key =
// H.hash(b"CPaceMac" || sid || ISK), the tag of a party is
// HMAC-SHA-512(mac_key, lv_cat(Y, AD)) over the share and associated data it
// sent.
func ConfirmationTag(isk, sid, y, ad []byte) []byte {
	h := sha512.New()
	h.Write([]byte("CPaceMac"))
	h.Write(sid)
	h.Write(isk)
	mac := hmac.New(sha512.New, h.Sum(nil))
	mac.Write(LVCat(y, ad))
	return mac.Sum(nil)
}

// VerifyTag reports, in constant time, whether tag is the confirmation tag
// for (y, ad) under isk and sid.
func VerifyTag(isk, sid, y, ad, tag []byte) bool {
	return hmac.Equal(ConfirmationTag(isk, sid, y, ad), tag)
}
