package p2p

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// The signalling messages the two sides exchange inside the [Secure]
// mailbox once the PAKE is done. Each starts with its type byte.
const (
	msgHello    byte = 1 // fingerprint, flags and candidates
	msgFallback byte = 2 // joiner: no direct path within the punch time
	msgRelay    byte = 3 // the relaying side: its relayed address, or why it has none
)

// wireVersion is the version byte of a hello; a peer with another version
// is refused with a clear error instead of misparsed.
const wireVersion = 1

// maxCandidates bounds the candidates a hello may carry (and so a peer's
// cost to us: every candidate is probed).
const maxCandidates = 24

// fingerprintSize is the size of a certificate fingerprint (SHA-256).
const fingerprintSize = sha256.Size

// Hello flags.
const (
	flagRelay  = 1 << 0 // the sender has --relay servers
	flagVaries = 1 << 1 // the sender's NAT gave different STUN servers different mappings
	flagMapped = 1 << 2 // the sender has a STUN-mapped address
)

// CandKind says where a candidate address comes from.
type CandKind uint8

// Candidate kinds.
const (
	CandHost    CandKind = 1 // an address of a local interface
	CandMapped  CandKind = 2 // the address a STUN server saw (the NAT's mapping)
	CandPortMap CandKind = 3 // a mapping made on the router (--map-port)
	CandRelay   CandKind = 4 // an address allocated on a TURN relay
	CandPeer    CandKind = 5 // learnt from where a valid probe came from
)

func (k CandKind) String() string {
	switch k {
	case CandHost:
		return "host"
	case CandMapped:
		return "stun"
	case CandPortMap:
		return "map-port"
	case CandRelay:
		return "relay"
	case CandPeer:
		return "peer"
	}
	return fmt.Sprintf("kind%d", uint8(k))
}

// Candidate is one address at which a side may be reachable.
type Candidate struct {
	Kind CandKind
	Addr netip.AddrPort
}

// hello is the first signalling message of each side.
type hello struct {
	Fingerprint [fingerprintSize]byte // SHA-256 of the sender's certificate
	Relay       bool                  // the sender can allocate a relay
	Varies      bool                  // the sender's NAT maps ports per destination
	Mapped      bool                  // a STUN server answered the sender
	Candidates  []Candidate
}

// relayMsg carries the relaying side's allocation, or the reason it failed.
type relayMsg struct {
	Addr netip.AddrPort // valid on success
	Err  string         // non-empty on failure
}

var errShort = errors.New("message truncated")

func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	a := ap.Addr().Unmap()
	b = append(b, byte(a.BitLen()/8))
	b = append(b, a.AsSlice()...)
	return binary.BigEndian.AppendUint16(b, ap.Port())
}

// readAddrPort decodes what appendAddrPort wrote and returns the rest.
func readAddrPort(b []byte) (netip.AddrPort, []byte, error) {
	if len(b) < 1 {
		return netip.AddrPort{}, nil, errShort
	}
	n := int(b[0])
	if n != 4 && n != 16 {
		return netip.AddrPort{}, nil, fmt.Errorf("address length %d", n)
	}
	if len(b) < 1+n+2 {
		return netip.AddrPort{}, nil, errShort
	}
	a, _ := netip.AddrFromSlice(b[1 : 1+n])
	port := binary.BigEndian.Uint16(b[1+n:])
	if port == 0 || !a.IsValid() || a.Unmap() != a {
		return netip.AddrPort{}, nil, fmt.Errorf("bad address %s port %d", a, port)
	}
	return netip.AddrPortFrom(a, port), b[1+n+2:], nil
}

func encodeHello(h hello) []byte {
	b := []byte{msgHello, wireVersion, 0}
	for _, f := range []struct {
		on  bool
		bit byte
	}{{h.Relay, flagRelay}, {h.Varies, flagVaries}, {h.Mapped, flagMapped}} {
		if f.on {
			b[2] |= f.bit
		}
	}
	b = append(b, h.Fingerprint[:]...)
	cs := h.Candidates
	if len(cs) > maxCandidates {
		cs = cs[:maxCandidates]
	}
	b = append(b, byte(len(cs)))
	for _, c := range cs {
		b = append(b, byte(c.Kind))
		b = appendAddrPort(b, c.Addr)
	}
	return b
}

func decodeHello(b []byte) (hello, error) {
	var h hello
	if len(b) < 3 || b[0] != msgHello {
		return h, errors.New("not a hello message")
	}
	if b[1] != wireVersion {
		return h, fmt.Errorf("the peer speaks p2p version %d, this sockcat speaks %d", b[1], wireVersion)
	}
	h.Relay, h.Varies, h.Mapped = b[2]&flagRelay != 0, b[2]&flagVaries != 0, b[2]&flagMapped != 0
	b = b[3:]
	if len(b) < fingerprintSize+1 {
		return h, errShort
	}
	copy(h.Fingerprint[:], b)
	n := int(b[fingerprintSize])
	b = b[fingerprintSize+1:]
	if n > maxCandidates {
		return h, fmt.Errorf("%d candidates (at most %d)", n, maxCandidates)
	}
	for range n {
		if len(b) < 1 {
			return h, errShort
		}
		k := CandKind(b[0])
		if k < CandHost || k > CandRelay {
			return h, fmt.Errorf("unknown candidate kind %d", k)
		}
		ap, rest, err := readAddrPort(b[1:])
		if err != nil {
			return h, err
		}
		h.Candidates = append(h.Candidates, Candidate{Kind: k, Addr: ap})
		b = rest
	}
	if len(b) != 0 {
		return h, fmt.Errorf("%d trailing bytes", len(b))
	}
	return h, nil
}

func encodeRelay(r relayMsg) []byte {
	if r.Err != "" {
		e := r.Err
		if len(e) > 255 {
			e = e[:255]
		}
		return append([]byte{msgRelay, 1, byte(len(e))}, e...)
	}
	return appendAddrPort([]byte{msgRelay, 0}, r.Addr)
}

func decodeRelay(b []byte) (relayMsg, error) {
	var r relayMsg
	if len(b) < 2 || b[0] != msgRelay {
		return r, errors.New("not a relay message")
	}
	switch b[1] {
	case 0:
		ap, rest, err := readAddrPort(b[2:])
		if err != nil {
			return r, err
		}
		if len(rest) != 0 {
			return r, fmt.Errorf("%d trailing bytes", len(rest))
		}
		r.Addr = ap
		return r, nil
	case 1:
		if len(b) < 3 || len(b) != 3+int(b[2]) || b[2] == 0 {
			return r, errShort
		}
		r.Err = string(b[3:])
		return r, nil
	}
	return r, fmt.Errorf("relay status %d", b[1])
}

// Probes are the hole-punching datagrams. Their first byte has the two top
// bits clear, so QUIC hands them to [quic.Transport.ReadNonQUICPacket], and
// bytes 4..8 never hold STUN's magic cookie.
//
//	magic(4) kind(1) role(1) txid(8) mac(16)
//
// mac is HMAC-SHA-256 over everything before it, keyed with a key exported
// from the PAKE session, truncated to 16 bytes: only the holder of the code
// can make a probe that the other side accepts.
var probeMagic = [4]byte{0x3c, 'p', '2', 'p'}

const (
	probeSize   = 4 + 1 + 1 + 8 + 16
	probeReq    = 1
	probeResp   = 2
	probeMACLen = 16
)

// probe is a decoded, authenticated probe.
type probe struct {
	Kind byte
	Role Role
	TxID [8]byte
}

func probeMAC(key, head []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(head)
	return m.Sum(nil)[:probeMACLen]
}

func encodeProbe(key []byte, p probe) []byte {
	b := make([]byte, 0, probeSize)
	b = append(b, probeMagic[:]...)
	b = append(b, p.Kind, byte(p.Role))
	b = append(b, p.TxID[:]...)
	return append(b, probeMAC(key, b)...)
}

var errNotProbe = errors.New("not a probe")

// parseProbe checks the shape and the MAC of a datagram.
func parseProbe(key, b []byte) (probe, error) {
	var p probe
	if len(b) != probeSize || [4]byte(b[:4]) != probeMagic {
		return p, errNotProbe
	}
	if b[4] != probeReq && b[4] != probeResp {
		return p, fmt.Errorf("probe kind %d", b[4])
	}
	if Role(b[5]) != RoleCreator && Role(b[5]) != RoleJoiner {
		return p, fmt.Errorf("probe role %d", b[5])
	}
	if !hmac.Equal(b[probeSize-probeMACLen:], probeMAC(key, b[:probeSize-probeMACLen])) {
		return p, errors.New("probe authentication failed")
	}
	p.Kind, p.Role = b[4], Role(b[5])
	copy(p.TxID[:], b[6:14])
	return p, nil
}
