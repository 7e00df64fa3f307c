package p2p

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v4"
)

// startTURN runs a TURN server on loopback that relays from 127.0.0.1.
func startTURN(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "sockcat.test",
		AuthHandler: func(user, realm string, _ net.Addr) ([]byte, bool) {
			if user != "u" {
				return nil, false
			}
			return turn.GenerateAuthKey(user, realm, "p"), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            pc,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return pc.LocalAddr().String()
}

// TestConnectRelay: with direct probes ignored, the session falls back to
// the relay after the punch time, whichever side has it, and the data
// crosses intact with path "relay" on both sides.
func TestConnectRelay(t *testing.T) {
	addr := startTURN(t)
	relay, err := ParseRelayURL("turn://u:p@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	hooks := testHooks{dropDirect: true, relayLocal: true}
	base := Options{Interfaces: loopback, PunchTimeout: 300 * time.Millisecond, hooks: hooks}
	withRelay := base
	withRelay.Relays = []RelayURL{relay}
	for _, tc := range []struct {
		name            string
		creator, joiner Options
	}{
		{"joiner relays", base, withRelay},
		{"creator relays", withRelay, base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := []byte("k")
			ra, rb := connectPair(t, key, key, tc.creator, tc.joiner)
			if ra.err != nil || rb.err != nil {
				t.Fatalf("connect: creator %v, joiner %v", ra.err, rb.err)
			}
			for _, c := range []*Conn{ra.c, rb.c} {
				if c.Path().Kind != "relay" {
					t.Errorf("path %+v, want relay", c.Path())
				}
			}
			exchange(t, ra.c, rb.c, 1<<20)
		})
	}
}

// TestConnectRelayRefused: a relay that refuses the credentials ends both
// sides with an error that names the relay.
func TestConnectRelayRefused(t *testing.T) {
	addr := startTURN(t)
	relay, _ := ParseRelayURL("turn://nobody:p@" + addr)
	opt := Options{Interfaces: loopback, PunchTimeout: 300 * time.Millisecond, hooks: testHooks{dropDirect: true}}
	withRelay := opt
	withRelay.Relays = []RelayURL{relay}
	ra, rb := connectPair(t, []byte("k"), []byte("k"), opt, withRelay)
	if ra.err == nil || rb.err == nil {
		t.Fatalf("creator %v, joiner %v: want both to fail", ra.err, rb.err)
	}
	for _, err := range []error{ra.err, rb.err} {
		if !strings.Contains(err.Error(), "relay "+addr) {
			t.Errorf("error %q does not name the relay", err)
		}
	}
}
