package rendezvous

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMQTTDeliverOrder checks that QoS 1 duplicates are dropped and
// reordered messages are put back in sequence.
func TestMQTTDeliverOrder(t *testing.T) {
	c := &mqttConn{early: map[uint32][]byte{}}
	for _, seq := range []uint32{0, 0, 2, 1, 2, 4, 3, 1, 5} {
		c.deliver(seq, []byte{byte('a' + seq)})
	}
	var got string
	for _, m := range c.ready {
		got += string(m)
	}
	if diff := cmp.Diff("abcdef", got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	if len(c.early) != 0 {
		t.Errorf("%d messages left early", len(c.early))
	}
	// Messages far ahead of a gap are bounded.
	for i := uint32(0); i < 2*maxEarly; i++ {
		c.deliver(c.recvSeq+1+i, []byte("x"))
	}
	if len(c.early) > maxEarly {
		t.Errorf("%d early messages held, bound %d", len(c.early), maxEarly)
	}
}
