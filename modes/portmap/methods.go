package portmap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

// The methods, as sockcat names them in messages.
const (
	MethodNATPMP = "NAT-PMP"
	MethodPCP    = "PCP"
	MethodUPnP   = "UPnP"
)

// Methods lists every method in the order messages name them.
var Methods = []string{MethodNATPMP, MethodPCP, MethodUPnP}

// grant is a mapping a router granted.
type grant struct {
	ip   netip.Addr
	port uint16
	life time.Duration // 0: permanent (UPnP routers that allow nothing else)
}

// mapper asks one method for a mapping. add with a non-zero extPort asks
// for that port again (a renewal).
type mapper interface {
	name() string
	add(ctx context.Context, extPort uint16, life time.Duration) (grant, error)
	remove(ctx context.Context, g grant) error
}

// target is what every method maps: proto and port of the listener at
// local, through gateway.
type target struct {
	proto          string // "tcp" or "udp"
	port           uint16
	gateway, local netip.Addr
	serverPort     uint16 // PCP's port on the gateway
}

func seconds(d time.Duration) uint32 {
	s := (d + time.Second - 1) / time.Second
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

// natpmpMapper uses github.com/jackpal/go-nat-pmp, which knows no context:
// each call is bounded by the time left before ctx's deadline.
type natpmpMapper struct{ t target }

func (m *natpmpMapper) name() string { return MethodNATPMP }

func (m *natpmpMapper) client(ctx context.Context) *natpmp.Client {
	timeout := 3 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	return natpmp.NewClientWithLocalAndTimeout(net.IP(m.t.gateway.AsSlice()), net.IP(m.t.local.AsSlice()), timeout)
}

func (m *natpmpMapper) add(ctx context.Context, extPort uint16, life time.Duration) (grant, error) {
	c := m.client(ctx)
	r, err := c.AddPortMapping(m.t.proto, int(m.t.port), int(extPort), int(seconds(life)))
	if err != nil {
		return grant{}, natpmpError(err)
	}
	g := grant{port: r.MappedExternalPort, life: time.Duration(r.PortMappingLifetimeInSeconds) * time.Second}
	ext, err := m.client(ctx).GetExternalAddress()
	if err != nil {
		m.remove(context.WithoutCancel(ctx), g)
		return grant{}, fmt.Errorf("external address: %w", natpmpError(err))
	}
	g.ip = netip.AddrFrom4(ext.ExternalIPAddress)
	return g, nil
}

func (m *natpmpMapper) remove(ctx context.Context, _ grant) error {
	_, err := m.client(ctx).AddPortMapping(m.t.proto, int(m.t.port), 0, 0)
	return natpmpError(err)
}

var natpmpCode = regexp.MustCompile(`result code (\d+)`)

// natpmpError words go-nat-pmp's errors like the other methods': a
// result code becomes "refused: not authorized/refused", a read on a port
// nobody listens to "no server (port unreachable)".
func natpmpError(err error) error {
	if err == nil {
		return nil
	}
	if m := natpmpCode.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return fmt.Errorf("refused: %s", NATPMPResult(n))
	}
	if e := noAnswer(context.Background(), err); e != err {
		return e
	}
	if err.Error() == "Timed out trying to contact gateway" {
		return errors.New("no answer")
	}
	return err
}

// pcpMapper is the PCP client of pcpclient.go.
type pcpMapper struct {
	t target
	c *pcpClient
}

func newPCPMapper(t target) *pcpMapper {
	return &pcpMapper{t: t, c: newPCPClient(netip.AddrPortFrom(t.gateway, t.serverPort))}
}

func (m *pcpMapper) name() string { return MethodPCP }

func (m *pcpMapper) proto() uint8 {
	if m.t.proto == "udp" {
		return ProtoUDP
	}
	return ProtoTCP
}

func (m *pcpMapper) add(ctx context.Context, extPort uint16, life time.Duration) (grant, error) {
	if extPort == 0 {
		extPort = m.t.port // suggest the local port
	}
	mp, lt, err := m.c.mapPort(ctx, m.t.local, m.proto(), m.t.port, extPort, max(seconds(life), 1))
	if err != nil {
		return grant{}, err
	}
	return grant{ip: mp.ExternalIP, port: mp.ExternalPort, life: time.Duration(lt) * time.Second}, nil
}

func (m *pcpMapper) remove(ctx context.Context, g grant) error {
	_, _, err := m.c.mapPort(ctx, m.t.local, m.proto(), m.t.port, g.port, 0)
	return err
}

// upnpMapper finds the IGD once, then maps through it.
type upnpMapper struct {
	t  target
	gw *upnpGateway
}

func (m *upnpMapper) name() string { return MethodUPnP }

func (m *upnpMapper) add(ctx context.Context, extPort uint16, life time.Duration) (grant, error) {
	if m.gw == nil {
		gw, err := discoverUPnP(ctx, m.t.gateway, m.t.local)
		if err != nil {
			return grant{}, err
		}
		m.gw = gw
	}
	port, lease, err := m.gw.add(ctx, m.t.proto, m.t.port, extPort, seconds(life))
	if err != nil {
		return grant{}, err
	}
	g := grant{port: port, life: time.Duration(lease) * time.Second}
	if g.ip, err = m.gw.externalIP(ctx); err != nil {
		m.remove(context.WithoutCancel(ctx), g)
		return grant{}, fmt.Errorf("external address: %w", err)
	}
	return g, nil
}

func (m *upnpMapper) remove(ctx context.Context, g grant) error {
	return m.gw.remove(ctx, m.t.proto, g.port)
}
