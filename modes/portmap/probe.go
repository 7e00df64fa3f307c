package portmap

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

// Status is one method's answer to a probe.
type Status struct {
	Available  bool
	ExternalIP netip.Addr // invalid when the method does not say (PCP's ANNOUNCE) or failed
	Err        string     // "" when available
}

// ProbeResult is what the gateway answered. It asks no mapping.
type ProbeResult struct {
	Gateway           netip.Addr // invalid when there is no default gateway
	Err               string     // why there is no gateway
	NATPMP, PCP, UPnP Status
}

// ProbeOptions tune Probe; the zero value probes the default gateway for
// DefaultTimeout.
type ProbeOptions struct {
	Timeout        time.Duration
	Gateway, Local netip.Addr // override the default route (tests)
	ServerPort     uint16     // PCP's port; 0: 5351
	Methods        []string   // subset of Methods to ask; nil: all (the others: "not asked")
}

// Probe asks the gateway, with every method at once, whether it answers:
// NAT-PMP's external address request, PCP's ANNOUNCE and UPnP's
// GetExternalIPAddress.
func Probe(ctx context.Context, po ProbeOptions) ProbeResult {
	o := Options{Proto: "tcp", Gateway: po.Gateway, Local: po.Local, ServerPort: po.ServerPort}
	t, err := o.target()
	if err != nil {
		return ProbeResult{Gateway: t.gateway, Err: err.Error()}
	}
	timeout := po.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r := ProbeResult{Gateway: t.gateway}
	var wg sync.WaitGroup
	for _, m := range []struct {
		name string
		out  *Status
		f    func(context.Context, *sync.WaitGroup, target, *Status)
	}{{MethodNATPMP, &r.NATPMP, probeNATPMP}, {MethodPCP, &r.PCP, probePCP}, {MethodUPnP, &r.UPnP, probeUPnP}} {
		if !o.wants(po.Methods, m.name) {
			*m.out = Status{Err: "not asked"}
			continue
		}
		wg.Add(1)
		go m.f(ctx, &wg, t, m.out)
	}
	wg.Wait()
	return r
}

func status(ip netip.Addr, err error) Status {
	if err != nil {
		return Status{Err: err.Error()}
	}
	return Status{Available: true, ExternalIP: ip}
}

func probeNATPMP(ctx context.Context, wg *sync.WaitGroup, t target, out *Status) {
	defer wg.Done()
	dl, _ := ctx.Deadline()
	c := natpmp.NewClientWithLocalAndTimeout(net.IP(t.gateway.AsSlice()), net.IP(t.local.AsSlice()), time.Until(dl))
	r, err := c.GetExternalAddress()
	if err != nil {
		*out = status(netip.Addr{}, natpmpError(err))
		return
	}
	*out = status(netip.AddrFrom4(r.ExternalIPAddress), nil)
}

func probePCP(ctx context.Context, wg *sync.WaitGroup, t target, out *Status) {
	defer wg.Done()
	err := newPCPClient(netip.AddrPortFrom(t.gateway, t.serverPort)).announce(ctx, t.local)
	*out = status(netip.Addr{}, err)
}

func probeUPnP(ctx context.Context, wg *sync.WaitGroup, t target, out *Status) {
	defer wg.Done()
	gw, err := discoverUPnP(ctx, t.gateway, t.local)
	if err != nil {
		*out = status(netip.Addr{}, err)
		return
	}
	*out = status(gw.externalIP(ctx))
}
