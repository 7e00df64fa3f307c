package portmap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/soap"
	"golang.org/x/net/ipv4"
)

// UPnP IGD v1/v2: SSDP discovery of the gateway's root device, then the
// WANIPConnection2, WANIPConnection1 or WANPPPConnection1 service of
// github.com/huin/goupnp.

// ssdpAddr is the SSDP multicast group and port.
var ssdpAddr = netip.MustParseAddrPort("239.255.255.250:1900")

// igdSearchTargets are searched together; any IGD answers one of them.
var igdSearchTargets = []string{
	"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
	"urn:schemas-upnp-org:device:InternetGatewayDevice:1",
}

// igdConn is what the three WAN connection services have in common.
type igdConn interface {
	AddPortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string, intPort uint16, intClient string, enabled bool, desc string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string) error
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
}

// igdAnyPort is IGD v2's AddAnyPortMapping: the router picks a free port.
type igdAnyPort interface {
	AddAnyPortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string, intPort uint16, intClient string, enabled bool, desc string, lease uint32) (uint16, error)
}

// upnpGateway is a WAN connection service found on the gateway.
type upnpGateway struct {
	conn    igdConn
	service string // e.g. "WANIPConnection:2"
	local   netip.Addr
}

// discoverUPnP finds the IGD at gateway: an SSDP search from local, the
// first answer that comes from gateway, its description and its first WAN
// connection service.
func discoverUPnP(ctx context.Context, gateway, local netip.Addr) (*upnpGateway, error) {
	loc, err := ssdpSearch(ctx, gateway, local)
	if err != nil {
		return nil, err
	}
	root, err := goupnp.DeviceByURLCtx(ctx, loc)
	if err != nil {
		return nil, fmt.Errorf("device description: %w", unwrapContext(err))
	}
	if c, _ := internetgateway2.NewWANIPConnection2ClientsFromRootDevice(root, loc); len(c) > 0 {
		return &upnpGateway{conn: c[0], service: "WANIPConnection:2", local: local}, nil
	}
	if c, _ := internetgateway2.NewWANIPConnection1ClientsFromRootDevice(root, loc); len(c) > 0 {
		return &upnpGateway{conn: c[0], service: "WANIPConnection:1", local: local}, nil
	}
	if c, _ := internetgateway2.NewWANPPPConnection1ClientsFromRootDevice(root, loc); len(c) > 0 {
		return &upnpGateway{conn: c[0], service: "WANPPPConnection:1", local: local}, nil
	}
	return nil, errors.New("the gateway's device has no WAN connection service")
}

// ssdpSearch multicasts M-SEARCH requests and returns the LOCATION of the
// first IGD answer whose source is gateway.
func ssdpSearch(ctx context.Context, gateway, local netip.Addr) (*url.URL, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if ifc, err := net.InterfaceByName(ifaceOf(local)); err == nil { // out of the gateway's interface
		ipv4.NewPacketConn(c).SetMulticastInterface(ifc)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	dst := net.UDPAddrFromAddrPort(ssdpAddr)
	buf := make([]byte, 4096)
	for rto := 300 * time.Millisecond; ; rto *= 2 {
		for _, st := range igdSearchTargets {
			if _, err := c.WriteToUDP(ssdpRequest(st), dst); err != nil {
				if ctx.Err() != nil || isTimeout(err) {
					return nil, errNoSSDP
				}
				return nil, fmt.Errorf("SSDP search: %w", err)
			}
		}
		c.SetReadDeadline(nextDeadline(ctx, rto))
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				if isTimeout(err) && ctx.Err() == nil {
					break
				}
				return nil, errNoSSDP
			}
			if from.Addr().Unmap() != gateway {
				continue
			}
			if loc, err := ParseSSDPResponse(buf[:n]); err == nil {
				return loc, nil
			}
		}
	}
}

var errNoSSDP = errors.New("no answer to SSDP search")

func ssdpRequest(st string) []byte {
	return []byte("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n" +
		"MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: " + st + "\r\n\r\n")
}

// ParseSSDPResponse returns the LOCATION of an SSDP search answer for an
// InternetGatewayDevice (or one of its services).
func ParseSSDPResponse(b []byte) (*url.URL, error) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	if err != nil {
		return nil, fmt.Errorf("ssdp: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ssdp: status %d", resp.StatusCode)
	}
	if st := resp.Header.Get("ST"); !strings.Contains(st, "InternetGatewayDevice") && !strings.Contains(st, "WANIPConnection") && !strings.Contains(st, "WANPPPConnection") {
		return nil, fmt.Errorf("ssdp: not a gateway: %q", st)
	}
	loc, err := url.Parse(resp.Header.Get("LOCATION"))
	if err != nil || (loc.Scheme != "http" && loc.Scheme != "https") || loc.Host == "" {
		return nil, fmt.Errorf("ssdp: bad LOCATION %q", resp.Header.Get("LOCATION"))
	}
	return loc, nil
}

// upnpDesc is the description sockcat gives its mappings.
const upnpDesc = "sockcat"

// add maps extPort (0: any) to the local port and returns the external
// port and the lease granted. A router that only allows permanent leases
// (error 725) gets lease 0; the mapping is still deleted at exit.
func (g *upnpGateway) add(ctx context.Context, proto string, port, extPort uint16, lease uint32) (uint16, uint32, error) {
	p := strings.ToUpper(proto)
	if extPort == 0 {
		extPort = port
	}
	try := func(lease uint32) (uint16, error) {
		if any, ok := g.conn.(igdAnyPort); ok {
			got, err := any.AddAnyPortMappingCtx(ctx, "", extPort, p, port, g.local.String(), true, upnpDesc, lease)
			if soapCode(err) != 401 { // 401: action not implemented
				return got, err
			}
		}
		return extPort, g.conn.AddPortMappingCtx(ctx, "", extPort, p, port, g.local.String(), true, upnpDesc, lease)
	}
	got, err := try(lease)
	if soapCode(err) == 725 {
		lease = 0
		got, err = try(0)
	}
	if err != nil {
		return 0, 0, upnpError(err)
	}
	return got, lease, nil
}

func (g *upnpGateway) remove(ctx context.Context, proto string, extPort uint16) error {
	return upnpError(g.conn.DeletePortMappingCtx(ctx, "", extPort, strings.ToUpper(proto)))
}

func (g *upnpGateway) externalIP(ctx context.Context) (netip.Addr, error) {
	s, err := g.conn.GetExternalIPAddressCtx(ctx)
	if err != nil {
		return netip.Addr{}, upnpError(err)
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("external address %q: not an IP address", s)
	}
	return a, nil
}

// soapCode is the UPnP error code of err, 0 if there is none.
func soapCode(err error) int {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		return f.Detail.UPnPError.Errorcode
	}
	return 0
}

// upnpError words a SOAP fault as "refused: 718 ConflictInMappingEntry".
func upnpError(err error) error {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		d := f.Detail.UPnPError
		return fmt.Errorf("refused: %d %s", d.Errorcode, d.ErrorDescription)
	}
	return unwrapContext(err)
}

// unwrapContext drops goupnp's wrapping ("error requesting … from …: …")
// when the cause alone says enough.
func unwrapContext(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return errors.New("no answer")
	}
	return err
}
