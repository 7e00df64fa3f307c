package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sockcat/sockcat/modes"
	"github.com/sockcat/sockcat/modes/resolve"
	"github.com/sockcat/sockcat/modes/resolve/publicip"
	"github.com/sockcat/sockcat/modes/resolve/resolvetest"
)

// Script commands of `sockcat resolve`. Every server they start listens on
// loopback (or inside network namespaces they create) and is stopped when
// the script ends.
func init() {
	scriptCmds["fakestun"] = cmdFakeSTUN
	scriptCmds["fakedns"] = cmdFakeDNS
	scriptCmds["fakeecho"] = cmdFakeEcho
	scriptCmds["coturn"] = cmdCoturn
}

// cmdFakeSTUN starts an in-process STUN server and sets VAR to its address.
// MAP is "identity" (default: report the client's address) or an address
// to report with the client's port.
//
//	fakestun VAR LISTEN [MAP]
func cmdFakeSTUN(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: fakestun VAR LISTEN [MAP]")
	}
	m := resolvetest.MapFunc(resolvetest.Identity)
	if len(args) == 3 && args[2] != "identity" {
		m = resolvetest.Fixed(args[2])
	}
	s, err := resolvetest.StartSTUN(args[1], resolvetest.STUNNormal, m)
	ts.Check(err)
	ts.Defer(func() { s.Close() })
	ts.Setenv(args[0], s.Addr.String())
}

// cmdFakeDNS starts an in-process DNS server that answers the whoami
// questions with the client's address and serves a small zone:
// dual.example.test. (A 192.0.2.10, AAAA 2001:db8::10), www.example.test.
// (CNAME to dual), v4only.example.test. (A 192.0.2.11); NXDOMAIN otherwise.
//
//	fakedns VAR LISTEN
func cmdFakeDNS(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fakedns VAR LISTEN")
	}
	zone := map[string]resolvetest.Record{
		"dual.example.test.":   {A: []string{"192.0.2.10"}, AAAA: []string{"2001:db8::10"}, PTR: "dual.example.test."},
		"www.example.test.":    {CNAME: "dual.example.test."},
		"v4only.example.test.": {A: []string{"192.0.2.11"}},
	}
	s, err := resolvetest.StartDNS(args[1], nil, zone, false)
	ts.Check(err)
	ts.Defer(func() { s.Close() })
	ts.Setenv(args[0], s.Addr.String())
}

// cmdFakeEcho starts an HTTP echo server and sets VAR to its URL.
//
//	fakeecho VAR LISTEN
func cmdFakeEcho(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fakeecho VAR LISTEN")
	}
	s, err := resolvetest.StartEcho(args[1], resolvetest.EchoNormal, nil)
	ts.Check(err)
	ts.Defer(s.Close)
	ts.Setenv(args[0], s.URL)
}

// coturnReady bounds the wait for turnserver to answer.
const coturnReady = 5 * time.Second

// cmdCoturn starts Debian's coturn as a plain STUN server on a free port of
// 127.0.0.1 and ::1 (resolve-notes §9.3), waits until it answers a Binding
// request, and sets VAR (127.0.0.1:PORT) and VAR6 ([::1]:PORT). It is
// stopped by its PID when the script ends.
//
//	coturn VAR
func cmdCoturn(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: coturn VAR")
	}
	for attempt := 0; attempt < 3; attempt++ {
		port := resolveFreeUDPPort(ts)
		listen := []string{"-L", "127.0.0.1"}
		if resolveHas6() {
			listen = append(listen, "-L", "::1")
		}
		cmdArgs := append([]string{"-n", "--stun-only"}, listen...)
		cmdArgs = append(cmdArgs, "-p", strconv.Itoa(port), "--no-cli", "--no-tls", "--no-dtls",
			"--log-file", "stdout", "--simple-log",
			"--pidfile", filepath.Join(ts.Getenv("WORK"), fmt.Sprintf("turnserver-%d.pid", port)))
		addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
		stop, err := resolveStartProcess(ts.Getenv("WORK"), "turnserver", cmdArgs, fmt.Sprintf("turnserver-%d.log", port))
		ts.Check(err)
		if err := resolveWaitSTUN(addr, coturnReady); err != nil {
			stop()
			ts.Logf("turnserver on port %d: %v; retrying", port, err)
			continue
		}
		ts.Defer(stop)
		ts.Setenv(args[0], addr.String())
		ts.Setenv(args[0]+"6", netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port)).String())
		return
	}
	ts.Fatalf("turnserver did not answer on loopback after 3 attempts")
}

func resolveHas6() bool {
	c, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// resolveFreeUDPPort returns a port free on 127.0.0.1 (and ::1 when IPv6 works) a
// moment ago; callers retry on collision.
func resolveFreeUDPPort(ts *testscript.TestScript) int {
	for range 20 {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		ts.Check(err)
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if !resolveHas6() {
			return port
		}
		if c6, err := net.ListenPacket("udp6", fmt.Sprintf("[::1]:%d", port)); err == nil {
			c6.Close()
			return port
		}
	}
	ts.Fatalf("no free udp port on loopback")
	return 0
}

// resolveStartProcess starts a background process (its output to a log file in
// dir) and returns a function that stops it by PID: SIGTERM, then SIGKILL
// after two seconds.
func resolveStartProcess(dir, prog string, args []string, logName string) (func(), error) {
	logf, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(prog, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", prog, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	var stopped atomic.Bool
	return func() {
		if stopped.Swap(true) {
			return
		}
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}, nil
}

// resolveWaitSTUN polls addr with Binding requests every 50 ms until it answers.
func resolveWaitSTUN(addr netip.AddrPort, limit time.Duration) error {
	c, err := net.ListenUDP("udp4", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	deadline := time.Now().Add(limit)
	buf := make([]byte, 1500)
	for time.Now().Before(deadline) {
		req, txid, err := publicip.BindingRequest()
		if err != nil {
			return err
		}
		if _, err := c.WriteToUDPAddrPort(req, addr); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		if got, _, err := publicip.ParseBindingResponse(buf[:n]); err == nil && got == txid {
			return nil
		}
	}
	return fmt.Errorf("no stun answer from %s within %v", addr, limit)
}

// natLabMissing returns why the namespace NAT lab cannot run here, or "".
func natLabMissing() string {
	if os.Geteuid() != 0 {
		return "not root: network namespaces need CAP_SYS_ADMIN"
	}
	for _, p := range []string{"ip", "iptables", "turnserver"} {
		if _, err := exec.LookPath(p); err != nil {
			return p + " missing: scripts/test.sh installs iproute2, iptables and coturn"
		}
	}
	probe := fmt.Sprintf("scr%d-probe", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return fmt.Sprintf("cannot create network namespaces: %v: %s", err, bytes.TrimSpace(out))
	}
	exec.Command("ip", "netns", "del", probe).Run()
	return ""
}

// natLab is a real Linux NAT built from three network namespaces
// (resolve-notes §9.5), none of them linked to the host's interfaces:
//
//	LAN 10.77.0.2 --- 10.77.0.1 NAT 198.51.100.1 --- 198.51.100.2/.3 WAN
//
// The NAT namespace masquerades the LAN (with --random-fully when asked,
// which makes the mapping address-dependent); the WAN runs coturn on both
// of its addresses.
type natLab struct {
	lan          string // the LAN namespace
	stun1, stun2 string // the two STUN servers
}

// natLabSeq makes namespace names unique within this process; the PID
// makes them unique across processes.
var natLabSeq atomic.Int32

// startNATLab builds the lab and registers its removal with t.Cleanup:
// coturn is stopped by PID, then the namespaces (and with them the veth
// pairs and NAT rules) are deleted.
func startNATLab(t *testing.T, randomFully bool) natLab {
	t.Helper()
	prefix := fmt.Sprintf("scr%d-%d", os.Getpid(), natLabSeq.Add(1))
	lan, nat, wan := prefix+"-lan", prefix+"-nat", prefix+"-wan"
	run := func(argv ...string) {
		t.Helper()
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	// Registered before the namespaces exist, so a failure half-way still
	// cleans up; deleting a namespace that does not exist is harmless.
	t.Cleanup(func() {
		for _, ns := range []string{lan, nat, wan} {
			exec.Command("ip", "netns", "del", ns).Run()
		}
	})
	for _, ns := range []string{lan, nat, wan} {
		run("ip", "netns", "add", ns)
	}
	run("ip", "link", "add", "lan0", "netns", lan, "type", "veth", "peer", "name", "lan1", "netns", nat)
	run("ip", "link", "add", "wan1", "netns", nat, "type", "veth", "peer", "name", "wan0", "netns", wan)
	run("ip", "-n", lan, "addr", "add", "10.77.0.2/24", "dev", "lan0")
	run("ip", "-n", nat, "addr", "add", "10.77.0.1/24", "dev", "lan1")
	run("ip", "-n", nat, "addr", "add", "198.51.100.1/24", "dev", "wan1")
	run("ip", "-n", wan, "addr", "add", "198.51.100.2/24", "dev", "wan0")
	run("ip", "-n", wan, "addr", "add", "198.51.100.3/24", "dev", "wan0")
	for _, ns := range []string{lan, nat, wan} {
		run("ip", "-n", ns, "link", "set", "lo", "up")
	}
	run("ip", "-n", lan, "link", "set", "lan0", "up")
	run("ip", "-n", nat, "link", "set", "lan1", "up")
	run("ip", "-n", nat, "link", "set", "wan1", "up")
	run("ip", "-n", wan, "link", "set", "wan0", "up")
	run("ip", "-n", lan, "route", "add", "default", "via", "10.77.0.1")
	run("ip", "netns", "exec", nat, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	masq := []string{"ip", "netns", "exec", nat, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan1", "-j", "MASQUERADE"}
	if randomFully {
		masq = append(masq, "--random-fully")
	}
	run(masq...)
	dir := t.TempDir()
	stop, err := resolveStartProcess(dir, "ip", []string{"netns", "exec", wan, "timeout", "120", "turnserver", "-n", "--stun-only",
		"-L", "198.51.100.2", "-L", "198.51.100.3", "-p", "3478", "--no-cli", "--no-tls", "--no-dtls",
		"--log-file", "stdout", "--simple-log", "--pidfile", filepath.Join(dir, "turnserver.pid")}, "turnserver.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop) // runs before the namespace deletion registered above
	deadline := time.Now().Add(coturnReady)
	for {
		out, err := exec.Command("ip", "netns", "exec", wan, "ss", "-lun").CombinedOutput()
		if err == nil && bytes.Contains(out, []byte("198.51.100.2:3478")) && bytes.Contains(out, []byte("198.51.100.3:3478")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("turnserver in %s not listening after %v:\n%s", wan, coturnReady, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return natLab{lan: lan, stun1: "198.51.100.2:3478", stun2: "198.51.100.3:3478"}
}

// TestResolveNATLab runs `sockcat resolve` inside the LAN namespace of a
// real NAT and checks the verdict: endpoint-independent behind plain
// MASQUERADE, address-dependent behind MASQUERADE --random-fully.
func TestResolveNATLab(t *testing.T) {
	if reason := natLabMissing(); reason != "" {
		t.Skip("namespace NAT lab skipped: " + reason)
	}
	tests := []struct {
		name        string
		randomFully bool
		mapping     string
		varies      bool
	}{
		{"masquerade", false, "endpoint-independent", false},
		{"random-fully", true, "address-dependent", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lab := startNATLab(t, tt.randomFully)
			out := filepath.Join(t.TempDir(), "out.json")
			cmd := exec.Command("ip", "netns", "exec", lab.lan, os.Args[0], "-test.run=^TestResolveNATLabChild$", "-test.count=1")
			cmd.Env = append(os.Environ(),
				"SOCKCAT_NATLAB_OUT="+out,
				"SOCKCAT_NATLAB_ARGS="+strings.Join([]string{"sockcat", "resolve", "-4", "--public", "--stun", lab.stun1, "--stun", lab.stun2,
					"--dns-whoami", "none", "--http-echo", "none", "--json"}, "\x1f"))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("resolve in namespace %s: %v\n%s", lab.lan, err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Public struct {
					IPv4 struct{ Address, Status string }
				}
				NAT struct {
					IPv4 struct {
						BehindNAT           *bool   `json:"behind_nat"`
						Local               *string `json:"local"`
						Mapping             string
						MappingVariesByDest *bool `json:"mapping_varies_by_dest"`
					}
				}
			}
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			n := rep.NAT.IPv4
			got := fmt.Sprintf("%s %s behind=%v local=%v mapping=%s varies=%v", rep.Public.IPv4.Status, rep.Public.IPv4.Address,
				resolveDeref(n.BehindNAT), resolveDeref(n.Local), n.Mapping, resolveDeref(n.MappingVariesByDest))
			want := fmt.Sprintf("confirmed 198.51.100.1 behind=true local=10.77.0.2 mapping=%s varies=%t", tt.mapping, tt.varies)
			if got != want {
				t.Errorf("verdict in the namespace NAT:\n got %s\nwant %s\n%s", got, want, data)
			}
		})
	}
}

func resolveDeref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestResolveNATLabChild is TestResolveNATLab's child: it runs inside the
// LAN namespace, which has no route off the host, so the external-server
// guard is lifted for it alone. It does nothing when run directly.
func TestResolveNATLabChild(t *testing.T) {
	args, out := os.Getenv("SOCKCAT_NATLAB_ARGS"), os.Getenv("SOCKCAT_NATLAB_OUT")
	if args == "" || out == "" {
		t.Skip("only run by TestResolveNATLab inside a namespace")
	}
	t.Setenv("SOCKCAT_NO_EXTERNAL", "0")
	var stdout, stderr bytes.Buffer
	if code := run(strings.Split(args, "\x1f"), strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if err := os.WriteFile(out, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestResolveExitCodes checks the exit status of `sockcat resolve`, which a
// script's `! exec` cannot tell apart.
func TestResolveExitCodes(t *testing.T) {
	t.Setenv("SOCKCAT_NO_EXTERNAL", "1")
	for _, v := range []string{"SOCKCAT_STUN", "SOCKCAT_DNS_WHOAMI", "SOCKCAT_HTTP_ECHO"} {
		t.Setenv(v, "")
	}
	zone := map[string]resolvetest.Record{"dual.example.test.": {A: []string{"192.0.2.10"}}}
	dns, err := resolvetest.StartDNS("127.0.0.1:0", nil, zone, false)
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	stun, err := resolvetest.StartSTUN("127.0.0.1:0", resolvetest.STUNNormal, resolvetest.Identity)
	if err != nil {
		t.Fatal(err)
	}
	defer stun.Close()
	d, s := dns.Addr.String(), stun.Addr.String()
	tests := []struct {
		args       []string
		want       int
		wantStdout string // substring; "" means stdout must be empty
		wantStderr string // substring; "" means stderr must be empty
	}{
		{[]string{"resolve", "--no-public"}, exitOK, "LOCAL", ""},
		{[]string{"resolve", "--local", "--json"}, exitOK, `"schema": "sockcat.resolve/v1"`, ""},
		{[]string{"resolve", "-4", "--public", "--stun", s, "--timeout", "2"}, exitOK, "127.0.0.1", ""},
		{[]string{"resolve", "-4", "--short", "--stun", s}, exitOK, "127.0.0.1\n", ""},
		{[]string{"resolve", "--short"}, exitFailure, "", "sockcat: no public address found"},
		{[]string{"resolve", "--public", "--stun", "none"}, exitFailure, "PUBLIC", "no public address found"},
		{[]string{"resolve", "--dns-server", d, "dual.example.test."}, exitOK, "192.0.2.10", ""},
		{[]string{"resolve", "--dns-server", d, "nosuch.example.test."}, exitFailure, "no such host", "sockcat: lookup nosuch.example.test."},
		{[]string{"resolve", "localhost"}, exitOK, "127.0.0.1", ""},
		{[]string{"resolve", "--stun", "stun.l.google.com:19302"}, exitUsage, "", "SOCKCAT_NO_EXTERNAL=1 allows only loopback servers"},
		{[]string{"resolve", "--dns-whoami", "akamai@127.0.0.1"}, exitUsage, "", "bad dns whoami kind"},
		{[]string{"resolve", "--http-echo", "ftp://127.0.0.1/"}, exitUsage, "", "bad http echo url"},
		{[]string{"resolve", "--timeout", "soon"}, exitUsage, "", "bad --timeout"},
		{[]string{"resolve", "-4", "-6"}, exitUsage, "", "-4 and -6"},
		{[]string{"resolve", "--short", "--json"}, exitUsage, "", "--short and --json"},
		{[]string{"resolve", "--nope"}, exitUsage, "", "nope"},
		{[]string{"resolve", "host:99999"}, exitUsage, "", "out of range"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(append([]string{"sockcat"}, tt.args...), strings.NewReader(""), &stdout, &stderr)
			if got != tt.want {
				t.Errorf("exit = %d, want %d\nstdout: %s\nstderr: %s", got, tt.want, stdout.String(), stderr.String())
			}
			if tt.wantStdout == "" && stdout.Len() > 0 || !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if tt.wantStderr == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

// TestResolveInterrupted: SIGINT during discovery (a cancelled context)
// ends resolve at once with context.Canceled, which run reports as 130,
// and nothing half-gathered is printed.
func TestResolveInterrupted(t *testing.T) {
	silent, err := resolvetest.StartSTUN("127.0.0.1:0", resolvetest.STUNSilent, resolvetest.Identity)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg := &resolve.Config{Only4: true, Public: true, Timeout: 10 * time.Second, NoExternal: true, STUN: []string{silent.Addr.String()}}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	var stdout, stderr bytes.Buffer
	start := time.Now()
	err = modes.Resolve(ctx, cfg, modes.Stdio{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("Resolve = %v after %v, want context.Canceled soon after the interrupt", err, time.Since(start))
	}
	if stdout.Len() > 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}
