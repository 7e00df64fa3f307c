package portmap

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// NAT-PMP (RFC 6886) message codec. The client is github.com/jackpal/go-nat-pmp;
// this codec serves the fake server of the tests and names result codes.

// NAT-PMP opcodes (RFC 6886 §3.2, §3.3).
const (
	NATPMPOpExternal = 0
	NATPMPOpMapUDP   = 1
	NATPMPOpMapTCP   = 2
	natpmpRespFlag   = 0x80
)

// NATPMPResult is a NAT-PMP result code (RFC 6886 §3.5).
type NATPMPResult uint16

var natpmpResultNames = [...]string{
	"success", "unsupported version", "not authorized/refused",
	"network failure", "out of resources", "unsupported opcode",
}

// String names the code as the RFC does.
func (r NATPMPResult) String() string {
	if int(r) < len(natpmpResultNames) {
		return natpmpResultNames[r]
	}
	return fmt.Sprintf("result %d", uint16(r))
}

// NATPMPMessage is a NAT-PMP request or response: the external address
// request (opcode 0) or a mapping request (1 UDP, 2 TCP).
type NATPMPMessage struct {
	Response bool
	Opcode   uint8 // without the response bit
	// Response only.
	Result     NATPMPResult
	Epoch      uint32
	ExternalIP netip.Addr // opcode 0 response
	// Mapping request and response.
	InternalPort uint16
	ExternalPort uint16 // suggested (request) or mapped (response)
	Lifetime     uint32
}

// Marshal encodes m (version 0).
func (m *NATPMPMessage) Marshal() ([]byte, error) {
	if m.Opcode > NATPMPOpMapTCP {
		return nil, fmt.Errorf("nat-pmp: unknown opcode %d", m.Opcode)
	}
	op := m.Opcode
	if m.Response {
		op |= natpmpRespFlag
	}
	switch {
	case !m.Response && m.Opcode == NATPMPOpExternal:
		return []byte{0, op}, nil
	case !m.Response:
		b := make([]byte, 12)
		b[1] = op
		binary.BigEndian.PutUint16(b[4:6], m.InternalPort)
		binary.BigEndian.PutUint16(b[6:8], m.ExternalPort)
		binary.BigEndian.PutUint32(b[8:12], m.Lifetime)
		return b, nil
	case m.Opcode == NATPMPOpExternal:
		if m.ExternalIP.IsValid() && !m.ExternalIP.Is4() {
			return nil, fmt.Errorf("nat-pmp: external address %s is not IPv4", m.ExternalIP)
		}
		b := make([]byte, 12)
		m.putRespHeader(b, op)
		if m.ExternalIP.IsValid() {
			a := m.ExternalIP.As4()
			copy(b[8:12], a[:])
		}
		return b, nil
	default:
		b := make([]byte, 16)
		m.putRespHeader(b, op)
		binary.BigEndian.PutUint16(b[8:10], m.InternalPort)
		binary.BigEndian.PutUint16(b[10:12], m.ExternalPort)
		binary.BigEndian.PutUint32(b[12:16], m.Lifetime)
		return b, nil
	}
}

func (m *NATPMPMessage) putRespHeader(b []byte, op byte) {
	b[1] = op
	binary.BigEndian.PutUint16(b[2:4], uint16(m.Result))
	binary.BigEndian.PutUint32(b[4:8], m.Epoch)
}

// ParseNATPMP decodes a NAT-PMP message of version 0. A response with a
// non-zero result may be the short 8-byte form some servers send.
func ParseNATPMP(b []byte) (*NATPMPMessage, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("nat-pmp: %w (%d bytes)", errShort, len(b))
	}
	if b[0] != 0 {
		return nil, fmt.Errorf("nat-pmp: version %d", b[0])
	}
	m := &NATPMPMessage{Response: b[1]&natpmpRespFlag != 0, Opcode: b[1] &^ natpmpRespFlag}
	if m.Opcode > NATPMPOpMapTCP {
		return nil, fmt.Errorf("nat-pmp: unknown opcode %d", m.Opcode)
	}
	want := map[[2]bool]int{{false, false}: 2, {false, true}: 12, {true, false}: 12, {true, true}: 16}[[2]bool{m.Response, m.Opcode != NATPMPOpExternal}]
	if m.Response && len(b) >= 4 {
		m.Result = NATPMPResult(binary.BigEndian.Uint16(b[2:4]))
		if m.Result != 0 && len(b) >= 8 && len(b) < want {
			m.Epoch = binary.BigEndian.Uint32(b[4:8])
			if m.Opcode == NATPMPOpExternal {
				m.ExternalIP = netip.IPv4Unspecified() // as in the long form
			}
			return m, nil
		}
	}
	if len(b) != want {
		return nil, fmt.Errorf("nat-pmp: opcode %d: %d bytes, want %d", b[1], len(b), want)
	}
	switch {
	case !m.Response && m.Opcode != NATPMPOpExternal:
		m.InternalPort = binary.BigEndian.Uint16(b[4:6])
		m.ExternalPort = binary.BigEndian.Uint16(b[6:8])
		m.Lifetime = binary.BigEndian.Uint32(b[8:12])
	case m.Response:
		m.Epoch = binary.BigEndian.Uint32(b[4:8])
		if m.Opcode == NATPMPOpExternal {
			m.ExternalIP = netip.AddrFrom4([4]byte(b[8:12]))
		} else {
			m.InternalPort = binary.BigEndian.Uint16(b[8:10])
			m.ExternalPort = binary.BigEndian.Uint16(b[10:12])
			m.Lifetime = binary.BigEndian.Uint32(b[12:16])
		}
	}
	return m, nil
}
