package rendezvous

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The sockcat:// wire protocol, over one TCP connection per holder. Every
// frame is a kind byte, a 2-byte big-endian body length, and the body:
//
//	client -> server
//	  'a' allocate   body: version
//	  'c' claim      body: version, nameplate (ASCII digits)
//	  'm' message    body: opaque bytes for the other holder
//	server -> client
//	  'n' nameplate  body: the nameplate allocated or claimed
//	  'm' message    body: opaque bytes from the other holder
//	  'g' gone       the other holder left (after its last message)
//	  'e' error      body: reason code byte, one line of text
//
// The first client frame is 'a' or 'c'; the server answers 'n' or 'e'. The
// server never looks inside a message.
const (
	KindAllocate  byte = 'a'
	KindClaim     byte = 'c'
	KindMessage   byte = 'm'
	KindNameplate byte = 'n'
	KindGone      byte = 'g'
	KindError     byte = 'e'

	// Version is the protocol version in allocate and claim frames.
	Version byte = 1
	// HeaderSize is the frame header: kind and body length.
	HeaderSize = 3
	// MaxBody is the largest frame body either side accepts.
	MaxBody = 32 << 10
)

// Error reason codes, the first byte of an error frame's body.
const (
	ReasonProtocol  byte = 'p' // malformed or unexpected frame
	ReasonUnknown   byte = 'u' // no such nameplate
	ReasonUsed      byte = 'x' // the nameplate was already used
	ReasonExpired   byte = 't' // the nameplate expired
	ReasonRate      byte = 'r' // a rate or size bound was hit
	ReasonFull      byte = 'f' // the server has no room
	ReasonShutdown  byte = 's' // the server is stopping
	ReasonTooLarge  byte = 'l' // a message over the size bound
	ReasonQueueFull byte = 'q' // too much queued for an absent holder
)

// Frame is one protocol frame.
type Frame struct {
	Kind byte
	Body []byte
}

// ErrIncomplete means more bytes are needed to parse a frame.
var ErrIncomplete = errors.New("rendezvous: incomplete frame")

// AppendFrame appends the encoding of f to dst. It fails when the body is
// over MaxBody.
func AppendFrame(dst []byte, f Frame) ([]byte, error) {
	if len(f.Body) > MaxBody {
		return dst, fmt.Errorf("rendezvous: frame body of %d bytes is over the %d-byte limit", len(f.Body), MaxBody)
	}
	dst = append(dst, f.Kind, 0, 0)
	binary.BigEndian.PutUint16(dst[len(dst)-2:], uint16(len(f.Body)))
	return append(dst, f.Body...), nil
}

// ParseHeader reads a frame header: the kind and the body length. A length
// over MaxBody or an unknown kind is an error.
func ParseHeader(h []byte) (kind byte, n int, err error) {
	if len(h) < HeaderSize {
		return 0, 0, ErrIncomplete
	}
	kind, n = h[0], int(binary.BigEndian.Uint16(h[1:3]))
	if !knownKind(kind) {
		return 0, 0, fmt.Errorf("rendezvous: unknown frame kind 0x%02x", kind)
	}
	if n > MaxBody {
		return 0, 0, fmt.Errorf("rendezvous: frame body of %d bytes is over the %d-byte limit", n, MaxBody)
	}
	return kind, n, nil
}

// ParseFrame parses the frame at the start of b and returns it with the
// number of bytes it used. The body aliases b. ErrIncomplete asks for more.
func ParseFrame(b []byte) (Frame, int, error) {
	kind, n, err := ParseHeader(b)
	if err != nil {
		return Frame{}, 0, err
	}
	if len(b) < HeaderSize+n {
		return Frame{}, 0, ErrIncomplete
	}
	return Frame{Kind: kind, Body: b[HeaderSize : HeaderSize+n]}, HeaderSize + n, nil
}

func knownKind(k byte) bool {
	switch k {
	case KindAllocate, KindClaim, KindMessage, KindNameplate, KindGone, KindError:
		return true
	}
	return false
}

// Hello is a parsed allocate or claim frame.
type Hello struct {
	Claim     bool
	Nameplate string // for a claim
}

// ParseHello checks a client's first frame.
func ParseHello(f Frame) (Hello, error) {
	if f.Kind != KindAllocate && f.Kind != KindClaim {
		return Hello{}, fmt.Errorf("first frame is 0x%02x, want allocate or claim", f.Kind)
	}
	if len(f.Body) < 1 || f.Body[0] != Version {
		return Hello{}, errors.New("unsupported protocol version")
	}
	if f.Kind == KindAllocate {
		if len(f.Body) != 1 {
			return Hello{}, errors.New("allocate frame with a nameplate")
		}
		return Hello{}, nil
	}
	np := string(f.Body[1:])
	if err := checkNameplate(np); err != nil {
		return Hello{}, err
	}
	return Hello{Claim: true, Nameplate: np}, nil
}

// HelloFrame is the first frame of a client: allocate when nameplate is "",
// else claim it.
func HelloFrame(nameplate string) Frame {
	if nameplate == "" {
		return Frame{Kind: KindAllocate, Body: []byte{Version}}
	}
	return Frame{Kind: KindClaim, Body: append([]byte{Version}, nameplate...)}
}

// ErrorFrame builds an error frame.
func ErrorFrame(reason byte, text string) Frame {
	return Frame{Kind: KindError, Body: append([]byte{reason}, text...)}
}

// ParseError splits an error frame's body into reason and text.
func ParseError(body []byte) (reason byte, text string) {
	if len(body) == 0 {
		return ReasonProtocol, "unspecified error"
	}
	return body[0], sanitize(body[1:])
}

// sanitize keeps printable ASCII of at most 200 bytes, so a server's text
// cannot inject control sequences into a terminal.
func sanitize(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}

// checkNameplate accepts 1 to 8 decimal digits without a leading zero.
func checkNameplate(s string) error {
	if s == "" || len(s) > 8 || s[0] == '0' {
		return fmt.Errorf("bad nameplate %q", sanitize([]byte(s)))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("bad nameplate %q", sanitize([]byte(s)))
		}
	}
	return nil
}
