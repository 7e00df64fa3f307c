package portmap_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockcat/sockcat/modes/portmap"
	"github.com/sockcat/sockcat/modes/portmap/portmaptest"
)

var extIP = netip.MustParseAddr("11.22.33.1")

// fakeGateway starts the fake on a random loopback address at port 5351
// (go-nat-pmp knows no other port).
func fakeGateway(t *testing.T) *portmaptest.Server {
	t.Helper()
	for range 10 {
		addr := fmt.Sprintf("127.%d.%d.%d:5351", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(250))
		s, err := portmaptest.Start(addr, extIP)
		if err == nil {
			t.Cleanup(s.Close)
			return s
		}
	}
	t.Skip("no free loopback address with port 5351")
	return nil
}

func opts(s *portmaptest.Server, methods ...string) portmap.Options {
	return portmap.Options{Proto: "tcp", Port: 7000, Gateway: s.Addr.Addr(), Local: netip.MustParseAddr("127.0.0.1"),
		Methods: methods, Timeout: 2 * time.Second}
}

// mapRequests counts mapping requests (lifetime > 0) and deletions.
func mapRequests(s *portmaptest.Server) (pcpMaps, pcpDeletes, natpmpMaps, natpmpDeletes int) {
	for _, r := range s.Requests() {
		switch {
		case r.PCP != nil && r.PCP.Opcode == portmap.PCPOpMap && r.PCP.Lifetime > 0:
			pcpMaps++
		case r.PCP != nil && r.PCP.Opcode == portmap.PCPOpMap:
			pcpDeletes++
		case r.NATPMP != nil && r.NATPMP.Opcode != portmap.NATPMPOpExternal && r.NATPMP.Lifetime > 0:
			natpmpMaps++
		case r.NATPMP != nil && r.NATPMP.Opcode != portmap.NATPMPOpExternal:
			natpmpDeletes++
		}
	}
	return
}

func TestMapEachMethod(t *testing.T) {
	for _, method := range []string{portmap.MethodPCP, portmap.MethodNATPMP} {
		t.Run(method, func(t *testing.T) {
			s := fakeGateway(t)
			m, err := portmap.Map(context.Background(), opts(s, method))
			if err != nil {
				t.Fatal(err)
			}
			if m.Method != method || m.External() != netip.AddrPortFrom(extIP, 7000) || m.Lease != time.Hour {
				t.Errorf("got %s %s lease %s", m.Method, m.External(), m.Lease)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			pm, pd, nm, nd := mapRequests(s)
			want := map[string][4]int{portmap.MethodPCP: {1, 1, 0, 0}, portmap.MethodNATPMP: {0, 0, 1, 1}}[method]
			if got := [4]int{pm, pd, nm, nd}; got != want {
				t.Errorf("PCP maps/deletes, NAT-PMP maps/deletes = %v, want %v", got, want)
			}
			for _, r := range s.Requests() {
				if r.PCP != nil && (r.PCP.ClientIP != netip.MustParseAddr("127.0.0.1") || r.PCP.Map.Protocol != portmap.ProtoTCP) {
					t.Errorf("PCP request from %s proto %d", r.PCP.ClientIP, r.PCP.Map.Protocol)
				}
			}
		})
	}
}

// TestMapBothDeletesBoth: PCP and NAT-PMP both granted (one server): the
// first is kept, and Close deletes through both, so neither entry stays.
func TestMapBothDeletesBoth(t *testing.T) {
	s := fakeGateway(t)
	m, err := portmap.Map(context.Background(), opts(s, portmap.MethodPCP, portmap.MethodNATPMP))
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	if pm, pd, nm, nd := mapRequests(s); pm != 1 || pd != 1 || nm != 1 || nd != 1 {
		t.Errorf("PCP %d/%d NAT-PMP %d/%d maps/deletes, want 1/1 each", pm, pd, nm, nd)
	}
}

func TestMapOtherExternalPort(t *testing.T) {
	s := fakeGateway(t)
	s.Set(false, false, 5, 0)
	o := opts(s, portmap.MethodPCP)
	o.Proto = "udp"
	m, err := portmap.Map(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.ExternalPort != 7005 {
		t.Errorf("external port %d, want the router's 7005", m.ExternalPort)
	}
	if r := s.Requests()[0].PCP; r.Map.Protocol != portmap.ProtoUDP || r.Map.ExternalPort != 7000 {
		t.Errorf("request proto %d suggested port %d", r.Map.Protocol, r.Map.ExternalPort)
	}
}

func TestMapRefused(t *testing.T) {
	s := fakeGateway(t)
	s.Refuse(portmap.PCPNotAuthorized, 2)
	_, err := portmap.Map(context.Background(), opts(s, portmap.MethodNATPMP, portmap.MethodPCP))
	want := fmt.Sprintf("no port mapping granted by gateway %s (NAT-PMP: refused: not authorized/refused; PCP: refused: NOT_AUTHORIZED)", s.Addr.Addr())
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	if _, ok := err.(*portmap.Failure); !ok {
		t.Errorf("error is %T, want *portmap.Failure", err)
	}
}

func TestMapNATPMPOnlyServer(t *testing.T) {
	s := fakeGateway(t)
	s.Set(true, false, 0, 0)
	_, err := portmap.Map(context.Background(), opts(s, portmap.MethodPCP))
	if err == nil || !strings.Contains(err.Error(), "PCP: server speaks NAT-PMP only") {
		t.Errorf("error %v", err)
	}
}

// TestMapSilent: a gateway that never answers fails within the timeout.
func TestMapSilent(t *testing.T) {
	s := fakeGateway(t)
	s.Set(false, true, 0, 0)
	o := opts(s, portmap.MethodPCP, portmap.MethodNATPMP)
	o.Timeout = 700 * time.Millisecond
	start := time.Now()
	_, err := portmap.Map(context.Background(), o)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %s with a 700ms timeout", d)
	}
	if err == nil || !strings.Contains(err.Error(), "PCP: no answer") || !strings.Contains(err.Error(), "NAT-PMP: no answer") {
		t.Errorf("error %v", err)
	}
	if n := len(s.Requests()); n < 4 {
		t.Errorf("%d requests in 700ms: no retransmission", n)
	}
}

// TestMapRenewal: a 1s lease is asked for again at half-life; a renewal
// the router refuses is reported.
func TestMapRenewal(t *testing.T) {
	s := fakeGateway(t)
	o := opts(s, portmap.MethodPCP)
	o.Lease = time.Second
	var mu sync.Mutex
	var renewed []time.Duration
	var errs []error
	o.OnRenew = func(d time.Duration) { mu.Lock(); renewed = append(renewed, d); mu.Unlock() }
	o.OnRenewError = func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }
	m, err := portmap.Map(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1300 * time.Millisecond)
	s.Refuse(portmap.PCPNoResources, 0)
	time.Sleep(700 * time.Millisecond)
	m.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(renewed) < 2 || renewed[0] != time.Second {
		t.Errorf("renewals %v in 1.3s of a 1s lease, want at least 2 of 1s", renewed)
	}
	if len(errs) == 0 || !strings.Contains(errs[0].Error(), "renewing the PCP mapping: refused: NO_RESOURCES") {
		t.Errorf("renewal errors %v", errs)
	}
}

func TestMapCancelled(t *testing.T) {
	s := fakeGateway(t)
	s.Set(false, true, 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := portmap.Map(ctx, opts(s, portmap.MethodPCP)); err == nil {
		t.Fatal("mapped on a silent gateway")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancel took %s", d)
	}
	if _, deletes, _, _ := mapRequests(s); deletes == 0 {
		t.Error("a cancelled request was not withdrawn: the router may have granted it")
	}
}

func TestProbe(t *testing.T) {
	s := fakeGateway(t)
	r := portmap.Probe(context.Background(), portmap.ProbeOptions{Timeout: time.Second, Gateway: s.Addr.Addr(), Local: netip.MustParseAddr("127.0.0.1"),
		Methods: []string{portmap.MethodNATPMP, portmap.MethodPCP}}) // UPnP would multicast off loopback
	if r.Gateway != s.Addr.Addr() || !r.NATPMP.Available || r.NATPMP.ExternalIP != extIP || !r.PCP.Available || r.PCP.ExternalIP.IsValid() {
		t.Errorf("probe: %+v", r)
	}
	if r.UPnP.Available || r.UPnP.Err != "not asked" {
		t.Errorf("UPnP not asked: %+v", r.UPnP)
	}
	for _, q := range s.Requests() {
		if (q.PCP != nil && q.PCP.Opcode != portmap.PCPOpAnnounce) || (q.NATPMP != nil && q.NATPMP.Opcode != portmap.NATPMPOpExternal) {
			t.Errorf("the probe asked a mapping: %+v", q)
		}
	}
}

// TestMapExitWhileAsking: sockcat exits while NAT-PMP has not answered;
// what NAT-PMP may still grant is withdrawn.
func TestMapExitWhileAsking(t *testing.T) {
	s := fakeGateway(t)
	s.SilenceNATPMP()
	ctx, cancel := context.WithCancel(context.Background())
	o := opts(s, portmap.MethodPCP, portmap.MethodNATPMP)
	o.Timeout = 500 * time.Millisecond
	m, err := portmap.Map(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	m.Close()
	if pm, pd, nm, nd := mapRequests(s); pm != 1 || pd != 1 || nm == 0 || nd == 0 {
		t.Errorf("PCP %d/%d NAT-PMP %d/%d maps/deletes, want 1/1 and some/some (retransmitted)", pm, pd, nm, nd)
	}
}

// TestMapLateOtherPort: when the other method is granted another external
// port, that entry is deleted at once, not kept open unused, unless it is
// NAT-PMP's (its deletion names the internal port the kept one shares):
// that one goes at Close, after the kept mapping.
func TestMapLateOtherPort(t *testing.T) {
	for range 3 { // either method may win
		s := fakeGateway(t)
		s.ShiftNATPMP(1) // PCP grants 7000, NAT-PMP 7001
		m, err := portmap.Map(context.Background(), opts(s, portmap.MethodPCP, portmap.MethodNATPMP))
		if err != nil {
			t.Fatal(err)
		}
		if m.Method == portmap.MethodNATPMP {
			deadline := time.Now().Add(2 * time.Second)
			for _, pd, _, _ := mapRequests(s); pd == 0; _, pd, _, _ = mapRequests(s) {
				if time.Now().After(deadline) {
					t.Fatal("PCP's other entry was not deleted before Close")
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		m.Close()
		if _, pd, _, nd := mapRequests(s); pd != 1 || nd != 1 {
			t.Errorf("%s kept: PCP %d, NAT-PMP %d deletions, want 1 each", m.Method, pd, nd)
		}
		var order []string
		for _, r := range s.Requests() {
			if r.PCP != nil && r.PCP.Lifetime == 0 {
				order = append(order, "PCP")
			}
			if r.NATPMP != nil && r.NATPMP.Opcode != portmap.NATPMPOpExternal && r.NATPMP.Lifetime == 0 {
				order = append(order, "NAT-PMP")
			}
		}
		if len(order) == 2 && order[1] != portmap.MethodNATPMP {
			t.Errorf("deletions in the order %v: NAT-PMP's must come last", order)
		}
	}
}
