package modes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/sockcat/sockcat/modes/scan"
)

// scanConfig is a -z configuration for 127.0.0.1 with a short timeout.
func scanConfig(ports ...int) *Config {
	cfg := &Config{Scan: true, Host: "127.0.0.1"}
	for _, p := range ports {
		cfg.Ports = append(cfg.Ports, uint16(p))
	}
	slices.Sort(cfg.Ports)
	cfg.Ports = slices.Compact(cfg.Ports)
	cfg.Net.Timeout = 500 * time.Millisecond
	cfg.ScanOp.Concurrency = DefaultConcurrency
	return cfg
}

// runScan runs Scan and returns its stdout, stderr and error.
func runScan(t *testing.T, ctx context.Context, cfg *Config) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb lockedBuffer
	err = Scan(ctx, cfg, Stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	return out.String(), errb.String(), err
}

// openPort starts a TCP listener on 127.0.0.1 that accepts and closes
// every connection, and returns its port.
func openPort(t *testing.T) int {
	t.Helper()
	return openPortOn(t, "127.0.0.1")
}

// openPortOn is openPort on another loopback address.
func openPortOn(t *testing.T, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp4", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago, for
// a listener that starts later.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// udpEchoPort starts a UDP echo server on 127.0.0.1 and returns its port.
func udpEchoPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		b := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo(b[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// udpSilentPort binds a UDP port that never answers (no ICMP error either).
func udpSilentPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// udpClosedPort returns a UDP port of 127.0.0.1 that was free a moment ago.
func udpClosedPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// portLine is the stdout or -v line for a port, with its service name when
// the services database knows one.
func portLine(port int, proto, state string) string {
	s := fmt.Sprintf("%d/%s %s", port, proto, state)
	if svc := scan.ServiceName(uint16(port), proto); svc != "" {
		s += " " + svc
	}
	return s
}

func testScanTCPOpenClosedFiltered(t *testing.T) {
	open1, open2 := openPort(t), openPort(t)
	closed := closedPort(t)
	filtered := blackholePort(t)
	cfg := scanConfig(open1, open2, closed, filtered)
	cfg.Verbose = true

	stdout, stderr, err := runScan(t, context.Background(), cfg)
	if err != nil {
		t.Fatalf("Scan = %v, want nil (ports %d and %d are open)", err, open1, open2)
	}
	var wantOut, wantErr []string
	for _, p := range cfg.Ports {
		switch int(p) {
		case open1, open2:
			wantOut = append(wantOut, portLine(int(p), "tcp", "open"))
		case closed:
			wantErr = append(wantErr, "sockcat: "+portLine(int(p), "tcp", "closed")+" (refused)")
		case filtered:
			wantErr = append(wantErr, "sockcat: "+portLine(int(p), "tcp", "filtered")+" (timeout)")
		}
	}
	if diff := cmp.Diff(strings.Join(wantOut, "\n")+"\n", stdout); diff != "" {
		t.Errorf("stdout mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(strings.Join(wantErr, "\n")+"\n", stderr); diff != "" {
		t.Errorf("stderr mismatch (-want +got):\n%s", diff)
	}
}

func testScanNoOpenPorts(t *testing.T) {
	cfg := scanConfig(closedPort(t), closedPort(t))
	stdout, stderr, err := runScan(t, context.Background(), cfg)
	if !errors.Is(err, ErrNoOpenPorts) {
		t.Errorf("Scan = %v, want ErrNoOpenPorts", err)
	}
	if stdout != "" || stderr != "" {
		t.Errorf("Scan wrote stdout %q, stderr %q; want nothing without -v", stdout, stderr)
	}
}

// testScanManyPorts scans a few thousand loopback ports with open ones
// among them: every open port is found, and only those.
//
// It scans an address of its own (127.83.47.1), not 127.0.0.1, and a
// narrow range, so its probes do not reach the one-shot listeners of tests
// running concurrently in other packages (only wildcard listeners could).
func testScanManyPorts(t *testing.T) {
	const host = "127.83.47.1"
	var open []int
	for range 3 {
		open = append(open, openPortOn(t, host))
	}
	slices.Sort(open)
	lo, hi := max(open[0]-200, 1), min(open[len(open)-1]+200, 65535)
	cfg := scanConfig()
	cfg.Host = host
	for p := lo; p <= hi; p++ {
		cfg.Ports = append(cfg.Ports, uint16(p))
	}
	for _, conc := range []int{1, 7, 256} {
		t.Run(fmt.Sprintf("concurrency=%d", conc), func(t *testing.T) {
			cfg.ScanOp.Concurrency = conc
			cfg.ScanOp.JSON = true
			stdout, _, err := runScan(t, context.Background(), cfg)
			if err != nil {
				t.Fatalf("Scan = %v", err)
			}
			var got []int
			n := 0
			for _, r := range decodeScanJSON(t, stdout) {
				if int(r.Port) != lo+n {
					t.Fatalf("JSON line %d is port %d, want %d (port order)", n, r.Port, lo+n)
				}
				n++
				if r.State == "open" {
					got = append(got, int(r.Port))
				}
			}
			if n != hi-lo+1 {
				t.Errorf("got %d JSON lines, want %d", n, hi-lo+1)
			}
			// Other processes may listen in the range too; ours must be there.
			for _, p := range open {
				if !slices.Contains(got, p) {
					t.Errorf("open ports %v lack %d", got, p)
				}
			}
		})
	}
}

// testScanConcurrency checks that probes overlap: four ports that each
// take the whole timeout finish in about one timeout with --concurrency 4,
// and take four with --concurrency 1.
func testScanConcurrency(t *testing.T) {
	var ports []int
	for range 4 {
		ports = append(ports, blackholePort(t))
	}
	cfg := scanConfig(ports...)
	cfg.Net.Timeout = 500 * time.Millisecond
	serial := time.Duration(len(ports)) * cfg.Net.Timeout
	for _, conc := range []int{1, 4} {
		cfg.ScanOp.Concurrency = conc
		start := time.Now()
		_, _, err := runScan(t, context.Background(), cfg)
		d := time.Since(start)
		if !errors.Is(err, ErrNoOpenPorts) {
			t.Fatalf("concurrency %d: Scan = %v, want ErrNoOpenPorts", conc, err)
		}
		if conc == 1 && d < serial {
			t.Errorf("concurrency 1 took %v, want at least %v (one port at a time)", d, serial)
		}
		if conc == 4 && d >= serial {
			t.Errorf("concurrency 4 took %v, want less than %v (ports in parallel)", d, serial)
		}
	}
}

type scanLine struct {
	Host    string   `json:"host"`
	Address string   `json:"address"`
	Port    uint16   `json:"port"`
	Proto   string   `json:"proto"`
	State   string   `json:"state"`
	Service *string  `json:"service"`
	Reason  string   `json:"reason"`
	RTTms   *float64 `json:"rtt_ms"`
}

// decodeScanJSON decodes one JSON object per line, strictly.
func decodeScanJSON(t *testing.T, s string) []scanLine {
	t.Helper()
	var out []scanLine
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var l scanLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func testScanJSON(t *testing.T) {
	open, closed, filtered := openPort(t), closedPort(t), blackholePort(t)
	cfg := scanConfig(open, closed, filtered)
	cfg.ScanOp.JSON = true
	stdout, stderr, err := runScan(t, context.Background(), cfg)
	if err != nil {
		t.Fatalf("Scan = %v", err)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing", stderr)
	}
	got := decodeScanJSON(t, stdout)
	var want []scanLine
	for _, p := range cfg.Ports {
		l := scanLine{Host: "127.0.0.1", Address: "127.0.0.1", Port: p, Proto: "tcp"}
		if svc := scan.ServiceName(p, "tcp"); svc != "" {
			l.Service = &svc
		}
		switch int(p) {
		case open:
			l.State, l.Reason = "open", "connected"
		case closed:
			l.State, l.Reason = "closed", "refused"
		case filtered:
			l.State, l.Reason = "filtered", "timeout"
		}
		want = append(want, l)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(scanLine{}, "RTTms")); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
	for _, l := range got {
		answered := l.State != "filtered"
		if (l.RTTms != nil) != answered || (l.RTTms != nil && *l.RTTms < 0) {
			t.Errorf("port %d (%s): rtt_ms = %v, want a non-negative number exactly when an answer came", l.Port, l.State, l.RTTms)
		}
	}
}

// testScanSelfConnect makes the kernel connect a socket to itself: with
// source port P and target port P on the same address, the SYN meets
// itself (TCP simultaneous open). Nothing listens there, so the port must
// not be reported open.
func testScanSelfConnect(t *testing.T) {
	p := freePort(t)
	cfg := scanConfig(p)
	cfg.Net.SourcePort = p
	cfg.Verbose = true
	stdout, stderr, err := runScan(t, context.Background(), cfg)
	if !errors.Is(err, ErrNoOpenPorts) {
		t.Errorf("Scan = %v, want ErrNoOpenPorts", err)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	if want := "sockcat: " + portLine(p, "tcp", "closed") + " (" + "self-connect, no listener" + ")\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func testScanUDP(t *testing.T) {
	open, closed, silent := udpEchoPort(t), udpClosedPort(t), udpSilentPort(t)
	cfg := scanConfig(open, closed, silent)
	cfg.UDP = true
	cfg.Verbose = true
	cfg.Net.Timeout = 400 * time.Millisecond
	stdout, stderr, err := runScan(t, context.Background(), cfg)
	if err != nil {
		t.Fatalf("Scan = %v, want nil (port %d echoes)", err, open)
	}
	var wantOut, wantErr []string
	for _, p := range cfg.Ports {
		switch int(p) {
		case open:
			wantOut = append(wantOut, portLine(int(p), "udp", "open"))
		case silent:
			wantOut = append(wantOut, portLine(int(p), "udp", "open|filtered"))
		case closed:
			wantErr = append(wantErr, "sockcat: "+portLine(int(p), "udp", "closed")+" (connection refused)")
		}
	}
	if diff := cmp.Diff(strings.Join(wantOut, "\n")+"\n", stdout); diff != "" {
		t.Errorf("stdout mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(strings.Join(wantErr, "\n")+"\n", stderr); diff != "" {
		t.Errorf("stderr mismatch (-want +got):\n%s", diff)
	}

	// open|filtered alone is not proof of an open port.
	cfg.Ports = []uint16{uint16(silent)}
	if _, _, err := runScan(t, context.Background(), cfg); !errors.Is(err, ErrNoOpenPorts) {
		t.Errorf("Scan of an open|filtered port = %v, want ErrNoOpenPorts", err)
	}
}

// testScanSourceAddress checks that -s is the source of every probe.
func testScanSourceAddress(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	from := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			c.Close()
		}
	}()
	cfg := scanConfig(ln.Addr().(*net.TCPAddr).Port, closedPort(t))
	cfg.Net.Source = "127.0.0.2"
	if _, _, err := runScan(t, context.Background(), cfg); err != nil {
		t.Fatalf("Scan -s 127.0.0.2 = %v", err)
	}
	select {
	case ip := <-from:
		if ip != "127.0.0.2" {
			t.Errorf("the listener saw a probe from %s, want 127.0.0.2", ip)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the listener saw no probe")
	}

	cfg.Net.Source = "::1"
	if _, _, err := runScan(t, context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "no address of the family") {
		t.Errorf("Scan -s ::1 of 127.0.0.1 = %v, want an error about the family", err)
	}
}

func testScanCancelled(t *testing.T) {
	cfg := scanConfig(blackholePort(t), blackholePort(t))
	cfg.Net.Timeout = 30 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := runScan(t, ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Scan = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Scan returned %v after the cancel, want at once", d)
	}
}

func testScanWaitForLateListener(t *testing.T) {
	p := freePort(t)
	cfg := scanConfig(p)
	cfg.Verbose = true
	cfg.ScanOp.WaitFor = 10 * time.Second
	lnc := make(chan net.Listener, 1)
	time.AfterFunc(700*time.Millisecond, func() {
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("listen on %d: %v", p, err)
		}
		lnc <- ln
	})
	t.Cleanup(func() {
		if ln := <-lnc; ln != nil {
			ln.Close()
		}
	})
	start := time.Now()
	stdout, stderr, err := runScan(t, context.Background(), cfg)
	if err != nil {
		t.Fatalf("Scan --wait-for = %v, want nil", err)
	}
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("Scan --wait-for returned after %v, before the listener existed", d)
	}
	if want := portLine(p, "tcp", "open") + "\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	if !strings.Contains(stderr, "sockcat: waiting for "+strconv.Itoa(p)+"/tcp closed (refused)") {
		t.Errorf("stderr = %q, want progress lines", stderr)
	}
}

func testScanWaitForGivesUp(t *testing.T) {
	open, closed := openPort(t), closedPort(t)
	cfg := scanConfig(open, closed)
	cfg.ScanOp.WaitFor = 800 * time.Millisecond
	start := time.Now()
	stdout, _, err := runScan(t, context.Background(), cfg)
	d := time.Since(start)
	if err == nil || errors.Is(err, ErrNoOpenPorts) {
		t.Fatalf("Scan --wait-for = %v, want an error naming the port", err)
	}
	if want := fmt.Sprintf("%d/tcp not open after 800ms", closed); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if d < cfg.ScanOp.WaitFor || d > cfg.ScanOp.WaitFor+3*time.Second {
		t.Errorf("Scan --wait-for %v gave up after %v", cfg.ScanOp.WaitFor, d)
	}
	if want := portLine(open, "tcp", "open") + "\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
}

// testScanWaitForTimeoutBounded checks that a probe that hangs does not
// outlast --wait-for by a whole -w.
func testScanWaitForTimeoutBounded(t *testing.T) {
	cfg := scanConfig(blackholePort(t))
	cfg.Net.Timeout = 20 * time.Second
	cfg.ScanOp.WaitFor = 500 * time.Millisecond
	start := time.Now()
	_, _, err := runScan(t, context.Background(), cfg)
	if err == nil {
		t.Fatal("Scan --wait-for of a filtered port = nil, want an error")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Scan --wait-for 500ms took %v", d)
	}
}

// fakeConn is a connection dialRetry can return.
type fakeConn struct{ net.Conn }

func TestDialRetry(t *testing.T) {
	refused := describe("connect", "127.0.0.1:9", syscall.ECONNREFUSED)
	timedOut := describe("connect", "127.0.0.1:9", errTimeout)
	noHost := describe("connect", "nosuch.invalid:9", &net.DNSError{Err: "no such host", Name: "nosuch.invalid", IsNotFound: true})
	tests := []struct {
		name     string
		retry    int
		errs     []error // the results of successive dials; past the end, success
		wantDial int
		wantErr  error
	}{
		{name: "success", retry: 3, wantDial: 1},
		{name: "refused then success", retry: 3, errs: []error{refused, refused}, wantDial: 3},
		{name: "timeout then success", retry: 3, errs: []error{timedOut}, wantDial: 2},
		{name: "refused every time", retry: 2, errs: []error{refused, refused, refused, refused}, wantDial: 3, wantErr: syscall.ECONNREFUSED},
		{name: "no retry", retry: 0, errs: []error{refused}, wantDial: 1, wantErr: syscall.ECONNREFUSED},
		{name: "dns not retried", retry: 3, errs: []error{noHost}, wantDial: 1, wantErr: noHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &Config{Verbose: true}
			cfg.Net.Retry = tt.retry
			cfg.Net.RetryDelay = time.Millisecond
			var errb bytes.Buffer
			n := 0
			c, err := dialRetry(context.Background(), cfg, Stdio{Err: &errb}, func(context.Context) (net.Conn, error) {
				n++
				if n <= len(tt.errs) {
					return nil, tt.errs[n-1]
				}
				return fakeConn{}, nil
			})
			if n != tt.wantDial {
				t.Errorf("dialled %d times, want %d", n, tt.wantDial)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("dialRetry error = %v, want %v", err, tt.wantErr)
			}
			if (err == nil) != (c != nil) {
				t.Errorf("dialRetry = %v, %v: want a connection exactly when there is no error", c, err)
			}
			if retries := strings.Count(errb.String(), "retrying"); retries != tt.wantDial-1 {
				t.Errorf("-v logged %d retries, want %d:\n%s", retries, tt.wantDial-1, errb.String())
			}
		})
	}
}

func TestDialRetryCancelledDuringDelay(t *testing.T) {
	cfg := &Config{}
	cfg.Net.Retry = 5
	cfg.Net.RetryDelay = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := dialRetry(ctx, cfg, Stdio{Err: new(bytes.Buffer)}, func(context.Context) (net.Conn, error) {
		n.Add(1)
		return nil, describe("connect", "127.0.0.1:9", syscall.ECONNREFUSED)
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("dialRetry = %v, want context.Canceled", err)
	}
	if n.Load() != 1 {
		t.Errorf("dialled %d times, want 1", n.Load())
	}
}

// TestDialStreamRetryLateListener retries a real refused connect until a
// listener that starts late accepts it.
func TestDialStreamRetryLateListener(t *testing.T) {
	p := freePort(t)
	cfg := &Config{Host: "127.0.0.1", Port: p}
	cfg.Net.Retry = 50
	cfg.Net.RetryDelay = 50 * time.Millisecond
	cfg.Net.Timeout = time.Second
	lnc := make(chan net.Listener, 1)
	time.AfterFunc(300*time.Millisecond, func() {
		ln, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("listen on %d: %v", p, err)
		}
		lnc <- ln
	})
	t.Cleanup(func() {
		if ln := <-lnc; ln != nil {
			ln.Close()
		}
	})
	c, err := dialStream(context.Background(), cfg, Stdio{Err: new(bytes.Buffer)})
	if err != nil {
		t.Fatalf("dialStream with --retry = %v, want a connection", err)
	}
	defer c.Close()
	if got := c.RemoteAddr().(*net.TCPAddr).Port; got != p {
		t.Errorf("connected to port %d, want %d", got, p)
	}
}

// TestScan runs every scan test against every engine of the platform: on
// Linux the epoll engine, and the poll and dial engines that macOS, FreeBSD
// and Windows run, with the same assertions.
func TestScan(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"TCPOpenClosedFiltered", testScanTCPOpenClosedFiltered},
		{"NoOpenPorts", testScanNoOpenPorts},
		{"ManyPorts", testScanManyPorts},
		{"Concurrency", testScanConcurrency},
		{"JSON", testScanJSON},
		{"SelfConnect", testScanSelfConnect},
		{"UDP", testScanUDP},
		{"SourceAddress", testScanSourceAddress},
		{"Cancelled", testScanCancelled},
		{"WaitForLateListener", testScanWaitForLateListener},
		{"WaitForGivesUp", testScanWaitForGivesUp},
		{"WaitForTimeoutBounded", testScanWaitForTimeoutBounded},
	}
	for _, engine := range scan.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			scanEngine = engine
			t.Cleanup(func() { scanEngine = scan.EngineDefault })
			for _, tt := range tests {
				t.Run(tt.name, tt.fn)
			}
		})
	}
}
