package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// portLine is the stdout or verbose line for a port, with its service name
// when the services database knows one.
func portLine(port int, proto, state string) string {
	s := fmt.Sprintf("%d/%s %s", port, proto, state)
	if svc := ServiceName(uint16(port), proto); svc != "" {
		s += " " + svc
	}
	return s
}

// openPort starts a TCP listener on 127.0.0.1 that accepts and closes
// every connection, and returns its port.
func openPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go acceptAndClose(ln)
	return ln.Addr().(*net.TCPAddr).Port
}

func acceptAndClose(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// TestOutputAddresses checks the line format when HOST has several
// addresses: each line starts with the address.
func TestOutputAddresses(t *testing.T) {
	var out, errb bytes.Buffer
	o := newOutput(&Options{Verbose: true, Stdout: &out, Stderr: &errb}, true)
	o.emit(probe{addr: netip.MustParseAddr("::1"), port: 40001}, result{stateOpen, reasonConnected, time.Millisecond})
	o.emit(probe{addr: netip.MustParseAddr("127.0.0.1"), port: 40001}, result{stateClosed, reasonRefused, time.Millisecond})
	if err := o.flush(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("::1 "+portLine(40001, "tcp", "open")+"\n", out.String()); diff != "" {
		t.Errorf("stdout mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("sockcat: 127.0.0.1 "+portLine(40001, "tcp", "closed")+" (refused)\n", errb.String()); diff != "" {
		t.Errorf("stderr mismatch (-want +got):\n%s", diff)
	}
}

// TestEveryAddress scans a host with two addresses, 127.0.0.1 and ::1 (as
// a name with both would resolve), with every engine of the platform: every
// address is probed, the results are grouped by address in resolver order,
// ports in order within each, and every line names its address.
func TestEveryAddress(t *testing.T) {
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln6.Close()
	go acceptAndClose(ln6)
	p6 := ln6.Addr().(*net.TCPAddr).Port
	ln4, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(p6)))
	if err != nil {
		t.Skipf("port %d taken on 127.0.0.1: %v", p6, err)
	}
	ln4.Close() // the same port: open on ::1, closed on 127.0.0.1
	p4 := openPort(t)
	ports := []uint16{uint16(min(p4, p6)), uint16(max(p4, p6))}
	var wantOut, wantErr []string
	for _, a := range []string{"127.0.0.1", "::1"} {
		for _, p := range ports {
			switch {
			case a == "127.0.0.1" && int(p) == p4, a == "::1" && int(p) == p6:
				wantOut = append(wantOut, a+" "+portLine(int(p), "tcp", "open"))
			default:
				wantErr = append(wantErr, "sockcat: "+a+" "+portLine(int(p), "tcp", "closed")+" (refused)")
			}
		}
	}
	for _, engine := range Engines() {
		t.Run(string(engine), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := Run(context.Background(), Options{Host: "dual.test", Ports: ports, Verbose: true, Engine: engine,
				Addrs:  []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
				Stdout: &out, Stderr: &errb})
			if err != nil {
				t.Fatalf("Run = %v", err)
			}
			if diff := cmp.Diff(strings.Join(wantOut, "\n")+"\n", out.String()); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(strings.Join(wantErr, "\n")+"\n", errb.String()); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnknownEngine checks that an engine the platform lacks is an error,
// not a silent fallback.
func TestUnknownEngine(t *testing.T) {
	err := Run(context.Background(), Options{Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, Ports: []uint16{1}, Engine: "kqueue-nope"})
	if err == nil || !strings.Contains(err.Error(), `no "kqueue-nope" engine`) {
		t.Errorf("Run = %v, want an error naming the engine", err)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	tests := []struct {
		name     string
		cur, max uint64
		want     int    // Concurrency
		wantConc int    // what the scan uses
		wantSoft uint64 // the soft limit afterwards
		wantLog  string // in the verbose log
		setFails bool
	}{
		{name: "fits", cur: 1024, max: 4096, want: 256, wantConc: 256, wantSoft: 1024},
		{name: "raise soft to hard", cur: 100, max: 4096, want: 256, wantConc: 256, wantSoft: 4096, wantLog: "raised the open-file limit from 100 to 4096"},
		{name: "hard too low", cur: 100, max: 200, want: 256, wantConc: 200 - fdReserve, wantSoft: 200, wantLog: "--concurrency 256 reduced to 136"},
		{name: "cannot raise", cur: 100, max: 4096, want: 256, setFails: true, wantConc: 100 - fdReserve, wantSoft: 100, wantLog: "reduced to 36"},
		{name: "tiny limit", cur: 10, max: 10, want: 256, wantConc: 1, wantSoft: 10},
	}
	realLimit, realRaise := fileLimit, raiseFileLimit
	t.Cleanup(func() { fileLimit, raiseFileLimit = realLimit, realRaise })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, hard := tt.cur, tt.max
			fileLimit = func() (uint64, uint64, error) { return cur, hard, nil }
			raiseFileLimit = func() error {
				if tt.setFails {
					return syscall.EPERM
				}
				cur = hard
				return nil
			}
			var errb bytes.Buffer
			s := &scanner{opts: Options{Verbose: true, Concurrency: tt.want, Stderr: &errb}}
			if got := s.concurrency(); got != tt.wantConc {
				t.Errorf("concurrency = %d, want %d", got, tt.wantConc)
			}
			if cur != tt.wantSoft {
				t.Errorf("soft limit = %d, want %d", cur, tt.wantSoft)
			}
			if !strings.Contains(errb.String(), tt.wantLog) {
				t.Errorf("verbose log = %q, want %q in it", errb.String(), tt.wantLog)
			}
		})
	}

	// The real limit: the default concurrency fits on any usual system.
	fileLimit, raiseFileLimit = realLimit, realRaise
	s := &scanner{opts: Options{Stderr: new(bytes.Buffer)}}
	if got := s.concurrency(); got != defaultConcurrency {
		t.Errorf("concurrency with the process's limit = %d, want %d", got, defaultConcurrency)
	}
}

func TestParseServices(t *testing.T) {
	const db = `# comment line
ssh		22/tcp				# SSH Remote Login Protocol
domain		53/tcp
domain		53/udp
http		80/tcp		www		# WorldWideWeb HTTP
www-alt		80/tcp
bad		99999/tcp
worse		-1/tcp
noproto		81
	
  indented	8080/TCP  webcache
`
	got := parseServices(strings.NewReader(db))
	want := map[string]string{
		"22/tcp":   "ssh",
		"53/tcp":   "domain",
		"53/udp":   "domain",
		"80/tcp":   "http", // the first name wins
		"8080/tcp": "indented",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseServices mismatch (-want +got):\n%s", diff)
	}
}

func FuzzParseServices(f *testing.F) {
	f.Add("ssh 22/tcp # comment\nhttp 80/tcp www\n")
	f.Add("bad 99999/tcp\n 1/udp\n")
	f.Fuzz(func(t *testing.T, db string) {
		for key, name := range parseServices(strings.NewReader(db)) {
			port, proto, ok := strings.Cut(key, "/")
			n, err := strconv.Atoi(port)
			if !ok || err != nil || n < 1 || n > 65535 || proto != strings.ToLower(proto) || name == "" {
				t.Errorf("parseServices gave %q → %q", key, name)
			}
		}
	})
}

func TestServiceNameSystem(t *testing.T) {
	if services()["22/tcp"] == "" {
		t.Skipf("%s has no entry for 22/tcp", servicesPath)
	}
	if got := ServiceName(22, "tcp"); got != "ssh" {
		t.Errorf("ServiceName(22, tcp) = %q, want ssh", got)
	}
	if got := ServiceName(1, "nosuchproto"); got != "" {
		t.Errorf("ServiceName(1, nosuchproto) = %q, want empty", got)
	}
}

// TestStdoutClosed checks that a stdout whose reader has gone ends the
// scan quietly (`sockcat -z … | head -1`).
func TestStdoutClosed(t *testing.T) {
	o := newOutput(&Options{Stdout: brokenWriter{}, Stderr: new(bytes.Buffer)}, false)
	o.out.WriteString("x")
	if err := o.flush(); !errors.Is(err, errStdoutClosed) {
		t.Errorf("flush = %v, want errStdoutClosed", err)
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, syscall.EPIPE }
