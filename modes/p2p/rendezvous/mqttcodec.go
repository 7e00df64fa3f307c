package rendezvous

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The payload of an MQTT rendezvous message: a kind byte, the sender's
// 8-byte session id, the addressee's session id (zero when not yet known),
// a 4-byte sequence number and the data.
//
//	'h' hello    joiner -> creator: I hold this nameplate
//	'w' welcome  creator -> joiner: you are the joiner I talk to
//	'x' refused  creator -> a later joiner: the nameplate is taken
//	'm' message  either way, data in sequence (seq from 0)
//	'b' bye      the sender left (also its MQTT will)
const (
	mqKindHello   byte = 'h'
	mqKindWelcome byte = 'w'
	mqKindRefused byte = 'x'
	mqKindMessage byte = 'm'
	mqKindBye     byte = 'b'

	mqHeaderSize = 1 + 8 + 8 + 4
	// mqMaxPayload bounds a payload: a message body plus the header.
	mqMaxPayload = mqHeaderSize + MaxBody
)

// SessionID names one holder's MQTT session.
type SessionID [8]byte

// mqMsg is one parsed MQTT payload.
type mqMsg struct {
	Kind     byte
	From, To SessionID
	Seq      uint32
	Data     []byte
}

func (m mqMsg) encode() []byte {
	b := make([]byte, mqHeaderSize, mqHeaderSize+len(m.Data))
	b[0] = m.Kind
	copy(b[1:9], m.From[:])
	copy(b[9:17], m.To[:])
	binary.BigEndian.PutUint32(b[17:21], m.Seq)
	return append(b, m.Data...)
}

// parseMQ parses an MQTT payload; anything malformed is an error (and the
// caller drops it: a public broker carries strangers' messages too).
func parseMQ(b []byte) (mqMsg, error) {
	if len(b) < mqHeaderSize {
		return mqMsg{}, errors.New("short payload")
	}
	if len(b) > mqMaxPayload {
		return mqMsg{}, fmt.Errorf("payload of %d bytes is over the limit", len(b))
	}
	m := mqMsg{Kind: b[0], Seq: binary.BigEndian.Uint32(b[17:21]), Data: b[mqHeaderSize:]}
	copy(m.From[:], b[1:9])
	copy(m.To[:], b[9:17])
	switch m.Kind {
	case mqKindMessage:
	case mqKindHello, mqKindWelcome, mqKindRefused, mqKindBye:
		if len(m.Data) != 0 {
			return mqMsg{}, fmt.Errorf("kind %q with data", m.Kind)
		}
	default:
		return mqMsg{}, fmt.Errorf("unknown kind 0x%02x", m.Kind)
	}
	if m.From == (SessionID{}) {
		return mqMsg{}, errors.New("zero sender")
	}
	return m, nil
}
