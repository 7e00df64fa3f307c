package portmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// PCP (RFC 6887) message codec. It does no I/O: the client in pcpclient.go
// and the fake server in portmaptest both use it.

// Port 5351 is where PCP and NAT-PMP servers listen on the gateway.
const ServerPort = 5351

// PCP constants (RFC 6887 §7, §11).
const (
	PCPVersion      = 2
	PCPOpAnnounce   = 0
	PCPOpMap        = 1
	pcpHeaderLen    = 24
	pcpMapLen       = 36
	pcpMaxMessage   = 1100
	pcpResponseFlag = 0x80
)

// IANA protocol numbers used in MAP requests.
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// PCPResult is a PCP result code (RFC 6887 §7.4).
type PCPResult uint8

// The result codes of RFC 6887 §7.4.
const (
	PCPSuccess               PCPResult = 0
	PCPUnsuppVersion         PCPResult = 1
	PCPNotAuthorized         PCPResult = 2
	PCPMalformedRequest      PCPResult = 3
	PCPUnsuppOpcode          PCPResult = 4
	PCPUnsuppOption          PCPResult = 5
	PCPMalformedOption       PCPResult = 6
	PCPNetworkFailure        PCPResult = 7
	PCPNoResources           PCPResult = 8
	PCPUnsuppProtocol        PCPResult = 9
	PCPUserExQuota           PCPResult = 10
	PCPCannotProvideExternal PCPResult = 11
	PCPAddressMismatch       PCPResult = 12
	PCPExcessiveRemotePeers  PCPResult = 13
)

var pcpResultNames = [...]string{
	"SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST", "UNSUPP_OPCODE",
	"UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE", "NO_RESOURCES", "UNSUPP_PROTOCOL",
	"USER_EX_QUOTA", "CANNOT_PROVIDE_EXTERNAL", "ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
}

// String is the RFC's name of the code, e.g. "NOT_AUTHORIZED".
func (r PCPResult) String() string {
	if int(r) < len(pcpResultNames) {
		return pcpResultNames[r]
	}
	return fmt.Sprintf("result %d", uint8(r))
}

// PCPOption is one option TLV, kept opaque.
type PCPOption struct {
	Code uint8
	Data []byte
}

// PCPMap is the payload of a MAP request or response.
type PCPMap struct {
	Nonce        [12]byte
	Protocol     uint8      // ProtoTCP, ProtoUDP (0 = all)
	InternalPort uint16     // the listener's port
	ExternalPort uint16     // suggested (request) or assigned (response)
	ExternalIP   netip.Addr // suggested or assigned; IPv4 is sent IPv4-mapped
}

// PCPMessage is a PCP request or response. Fields that belong to the other
// direction are ignored when marshalling and zero when parsed.
type PCPMessage struct {
	Response bool
	Opcode   uint8
	Lifetime uint32 // requested (request) or granted (response), seconds
	// Request only.
	ClientIP netip.Addr
	// Response only.
	Result PCPResult
	Epoch  uint32

	Map     *PCPMap // MAP payload; nil for ANNOUNCE
	Options []PCPOption
}

var errShort = errors.New("message too short")

// Marshal encodes m.
func (m *PCPMessage) Marshal() ([]byte, error) {
	b := make([]byte, pcpHeaderLen, pcpHeaderLen+pcpMapLen)
	b[0] = PCPVersion
	if m.Opcode > 0x7f {
		return nil, fmt.Errorf("pcp: opcode %d out of range", m.Opcode)
	}
	b[1] = m.Opcode
	binary.BigEndian.PutUint32(b[4:8], m.Lifetime)
	if m.Response {
		b[1] |= pcpResponseFlag
		b[3] = byte(m.Result)
		binary.BigEndian.PutUint32(b[8:12], m.Epoch)
	} else {
		a := addr16(m.ClientIP)
		copy(b[8:24], a[:])
	}
	switch {
	case m.Opcode == PCPOpMap && m.Map == nil && !(m.Response && m.Result != PCPSuccess):
		return nil, errors.New("pcp: MAP message without payload")
	case m.Map == nil:
	case m.Opcode == PCPOpMap:
		var p [pcpMapLen]byte
		copy(p[0:12], m.Map.Nonce[:])
		p[12] = m.Map.Protocol
		binary.BigEndian.PutUint16(p[16:18], m.Map.InternalPort)
		binary.BigEndian.PutUint16(p[18:20], m.Map.ExternalPort)
		a := addr16(m.Map.ExternalIP)
		copy(p[20:36], a[:])
		b = append(b, p[:]...)
	case m.Map != nil:
		return nil, fmt.Errorf("pcp: opcode %d takes no MAP payload", m.Opcode)
	}
	for _, o := range m.Options {
		if len(o.Data) > 0xffff {
			return nil, errors.New("pcp: option too long")
		}
		var h [4]byte
		h[0] = o.Code
		binary.BigEndian.PutUint16(h[2:4], uint16(len(o.Data)))
		b = append(b, h[:]...)
		b = append(b, o.Data...)
		b = append(b, make([]byte, pad4(len(o.Data)))...)
	}
	if len(b) > pcpMaxMessage {
		return nil, errors.New("pcp: message longer than 1100 bytes")
	}
	return b, nil
}

// ParsePCP decodes a PCP message. It rejects what RFC 6887 calls malformed:
// short or over-long messages, a length not a multiple of 4, a version other
// than 2 (see [IsNATPMPReply] for a NAT-PMP server's answer), a truncated
// MAP payload or option.
func ParsePCP(b []byte) (*PCPMessage, error) {
	if len(b) < pcpHeaderLen {
		return nil, fmt.Errorf("pcp: %w (%d bytes)", errShort, len(b))
	}
	if len(b) > pcpMaxMessage || len(b)%4 != 0 {
		return nil, fmt.Errorf("pcp: bad message length %d", len(b))
	}
	if b[0] != PCPVersion {
		return nil, fmt.Errorf("pcp: version %d", b[0])
	}
	m := &PCPMessage{Response: b[1]&pcpResponseFlag != 0, Opcode: b[1] &^ pcpResponseFlag}
	m.Lifetime = binary.BigEndian.Uint32(b[4:8])
	if m.Response {
		m.Result = PCPResult(b[3])
		m.Epoch = binary.BigEndian.Uint32(b[8:12])
	} else {
		m.ClientIP = addrFrom16(b[8:24])
	}
	rest := b[pcpHeaderLen:]
	if m.Opcode == PCPOpMap && (len(rest) >= pcpMapLen || !m.Response || m.Result == PCPSuccess) {
		if len(rest) < pcpMapLen {
			return nil, fmt.Errorf("pcp: MAP payload: %w", errShort)
		}
		mp := &PCPMap{Protocol: rest[12]}
		copy(mp.Nonce[:], rest[0:12])
		mp.InternalPort = binary.BigEndian.Uint16(rest[16:18])
		mp.ExternalPort = binary.BigEndian.Uint16(rest[18:20])
		mp.ExternalIP = addrFrom16(rest[20:36])
		m.Map = mp
		rest = rest[pcpMapLen:]
	}
	for len(rest) > 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("pcp: option header: %w", errShort)
		}
		n := int(binary.BigEndian.Uint16(rest[2:4]))
		if 4+n+pad4(n) > len(rest) {
			return nil, fmt.Errorf("pcp: option %d: length %d past the end", rest[0], n)
		}
		m.Options = append(m.Options, PCPOption{Code: rest[0], Data: append([]byte(nil), rest[4:4+n]...)})
		rest = rest[4+n+pad4(n):]
	}
	return m, nil
}

// IsNATPMPReply reports whether b is a NAT-PMP server's answer (version 0)
// to a PCP request: the server speaks NAT-PMP only.
func IsNATPMPReply(b []byte) bool { return len(b) >= 2 && b[0] == 0 && b[1]&0x80 != 0 }

func pad4(n int) int { return (4 - n%4) % 4 }

// addr16 is a's 16-byte form; IPv4 is IPv4-mapped, the invalid address is
// all zeros.
func addr16(a netip.Addr) [16]byte {
	if !a.IsValid() {
		return [16]byte{}
	}
	return a.As16()
}

// addrFrom16 is the inverse of addr16: IPv4-mapped becomes IPv4, all zeros
// stays the zero IPv6 address (PCP's "no suggestion").
func addrFrom16(b []byte) netip.Addr {
	return netip.AddrFrom16([16]byte(b)).Unmap()
}
