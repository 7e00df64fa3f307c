package publicip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxEchoBody is the most an echo body may hold: an address and a newline
// fit easily; an HTML error page or a captcha does not.
const maxEchoBody = 64

// CheckEchoURL validates an --http-echo URL: http or https, with a host.
func CheckEchoURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("bad http echo url %q: %w", s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("bad http echo url %q: want https://HOST/PATH", s)
	}
	return nil
}

// ParseEchoBody parses the body of an echo service: one address, optionally
// surrounded by white space, of the requested family.
func ParseEchoBody(body []byte, v6 bool) (netip.Addr, error) {
	if len(body) > maxEchoBody {
		return netip.Addr{}, fmt.Errorf("body longer than %d bytes", maxEchoBody)
	}
	text := strings.TrimSpace(string(body))
	a, err := netip.ParseAddr(text)
	if err != nil || a.Zone() != "" {
		if len(text) > 20 {
			text = text[:20] + "…"
		}
		return netip.Addr{}, fmt.Errorf("body %q is not an ip address", text)
	}
	a = a.Unmap()
	if a.Is6() != v6 {
		return netip.Addr{}, fmt.Errorf("answer %s is not an %s address", a, familyName(v6))
	}
	return a, nil
}

// echoClient returns an HTTP client whose every connection uses the family
// (tcp4/tcp6) and never a proxy: a dual-stack echo host answers in the
// family the client used, and a proxy would report its own address.
func echoClient(v6 bool, tlsConfig *tls.Config, remote *netip.AddrPort, mu *sync.Mutex) *http.Client {
	d := &net.Dialer{}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network("tcp", v6), addr)
			if err == nil {
				if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
					mu.Lock()
					*remote = ta.AddrPort()
					mu.Unlock()
				}
			}
			return c, err
		},
		TLSClientConfig:   tlsConfig,
		DisableKeepAlives: true,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("echo service redirected")
		},
	}
}

// probeHTTP asks every echo URL at once. It emits exactly one Source per URL.
func probeHTTP(ctx context.Context, urls []string, tlsConfig *tls.Config, v6 bool, emit func(Source)) {
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() { emit(askEcho(ctx, u, i, tlsConfig, v6)) })
	}
	wg.Wait()
}

// askEcho fetches one echo URL.
func askEcho(ctx context.Context, u string, order int, tlsConfig *tls.Config, v6 bool) Source {
	src := Source{Method: MethodHTTP, Server: u, order: order}
	var mu sync.Mutex
	var remote netip.AddrPort
	client := echoClient(v6, tlsConfig, &remote, &mu)
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		src.Err = err.Error()
		return src
	}
	req.Header.Set("User-Agent", "sockcat")
	req.Header.Set("Accept", "text/plain")
	start := time.Now()
	resp, err := client.Do(req)
	mu.Lock()
	if remote.IsValid() {
		src.ServerAddr = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	}
	mu.Unlock()
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		src.Err = describe(ctx, err)
		return src
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxEchoBody+1))
	src.RTT = time.Since(start)
	if err != nil {
		src.Err = describe(ctx, err)
		return src
	}
	if resp.StatusCode != http.StatusOK {
		src.Err = "http status " + resp.Status
		return src
	}
	a, err := ParseEchoBody(body, v6)
	if err != nil {
		src.Err = err.Error()
		return src
	}
	src.Address = a
	return src
}
