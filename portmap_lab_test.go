//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The --map-port lab: a "public" namespace, a router namespace doing
// MASQUERADE with miniupnpd (iptables backend) and a LAN host behind it,
// joined by veth links that exist only between these namespaces. The outside
// block is an ordinary one (miniupnpd refuses mappings when the router's
// outside address is private, CGNAT or a documentation block); no namespace
// has a route to the host's real interfaces.
const (
	labExtRouter = "11.22.33.1" // router's outside address
	labExtPublic = "11.22.33.2" // the "internet" host
	labGateway   = "192.168.77.1"
	labLANHost   = "192.168.77.2"
)

// labDaemon is what miniupnpd is told to do.
type labDaemon struct {
	natpmp, upnp bool
	deny         int // a port the rules refuse (0: none)
}

type pmLab struct {
	t                *testing.T
	dir, bin         string
	pub, router, lan string
	daemonPID        int
}

// newPMLab builds the namespaces; they and everything in them are deleted
// when the test ends, also on failure.
func newPMLab(t *testing.T) *pmLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the --map-port lab needs root (network namespaces): scripts/test.sh runs it as root")
	}
	for _, tool := range []string{"ip", "ss", "iptables", "iptables-legacy", "miniupnpd", "unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s missing: scripts/test.sh installs it (miniupnpd-iptables, iptables, iproute2, util-linux)", tool)
		}
	}
	if v, _ := exec.Command("miniupnpd", "--version").CombinedOutput(); !bytes.Contains(v, []byte("iptables")) {
		t.Skipf("the lab drives miniupnpd's iptables backend; this one says %q (install miniupnpd-iptables)", bytes.TrimSpace(v))
	}
	bin, err := exec.LookPath("sockcat")
	if err != nil {
		t.Fatalf("the test binary as sockcat: %v", err)
	}
	prefix := fmt.Sprintf("scpm-%d-%d", os.Getpid(), rand.IntN(1e6))
	l := &pmLab{t: t, dir: t.TempDir(), bin: bin, pub: prefix + "-pub", router: prefix + "-r", lan: prefix + "-lan"}
	for _, ns := range []string{l.pub, l.router, l.lan} {
		l.ip("netns", "add", ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	t.Cleanup(l.stopDaemon) // runs before the namespaces go
	l.ip("-n", l.pub, "link", "add", "pubx", "type", "veth", "peer", "name", "rext", "netns", l.router)
	l.ip("-n", l.router, "link", "add", "rlan", "type", "veth", "peer", "name", "lanx", "netns", l.lan)
	for _, a := range []struct{ ns, dev, addr string }{
		{l.pub, "pubx", labExtPublic + "/24"}, {l.router, "rext", labExtRouter + "/24"},
		{l.router, "rlan", labGateway + "/24"}, {l.lan, "lanx", labLANHost + "/24"},
	} {
		l.ip("-n", a.ns, "addr", "add", a.addr, "dev", a.dev)
		l.ip("-n", a.ns, "link", "set", a.dev, "up")
	}
	l.ip("-n", l.lan, "route", "add", "default", "via", labGateway)
	l.in(l.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	// miniupnpd 2.3.1's iptables backend uses the legacy tables and
	// expects its chains to exist (what iptables_init.sh does).
	for _, rule := range []string{
		"-t nat -A POSTROUTING -o rext -j MASQUERADE",
		"-t nat -N MINIUPNPD", "-t nat -A PREROUTING -i rext -j MINIUPNPD",
		"-t nat -N MINIUPNPD-POSTROUTING", "-t nat -I POSTROUTING -o rext -j MINIUPNPD-POSTROUTING",
		"-t filter -N MINIUPNPD", "-t filter -A FORWARD -i rext ! -o rext -j MINIUPNPD",
		"-t mangle -N MINIUPNPD", "-t mangle -A PREROUTING -i rext -j MINIUPNPD",
	} {
		l.in(l.router, append([]string{"iptables-legacy"}, strings.Fields(rule)...)...)
	}
	return l
}

func (l *pmLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// in runs a command in namespace ns and returns its output.
func (l *pmLab) in(ns string, args ...string) string {
	l.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("in %s: %s: %v\n%s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startDaemon (re)starts miniupnpd in the router with cfg. It runs in a
// private mount namespace whose /dev/console is a file of the lab, so its
// log (it falls back to the console with no /dev/log) stays here; without
// -d it logs nothing below LOG_NOTICE.
func (l *pmLab) startDaemon(d labDaemon) {
	l.t.Helper()
	l.stopDaemon()
	yn := map[bool]string{true: "yes", false: "no"}
	conf := fmt.Sprintf("ext_ifname=rext\nlistening_ip=rlan\nport=0\nenable_natpmp=%s\nenable_upnp=%s\n"+
		"min_lifetime=1\nmax_lifetime=86400\nsecure_mode=yes\nsystem_uptime=yes\n"+
		"uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b\n", yn[d.natpmp], yn[d.upnp])
	if d.deny != 0 {
		conf += fmt.Sprintf("deny 0-65535 192.168.77.0/24 %d\n", d.deny)
	}
	conf += "allow 1024-65535 192.168.77.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n"
	cf, console, pidf := filepath.Join(l.dir, "miniupnpd.conf"), filepath.Join(l.dir, "console"), filepath.Join(l.dir, "miniupnpd.pid")
	os.WriteFile(cf, []byte(conf), 0o644)
	os.WriteFile(console, nil, 0o644)
	os.Remove(pidf)
	l.in(l.router, "unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /dev/console && exec miniupnpd -f "$2" -P "$3"`, "sh", console, cf, pidf)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(pidf)
		if _, err := fmt.Sscan(string(b), &l.daemonPID); err == nil && l.daemonPID > 0 {
			break
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("miniupnpd did not start; its log:\n%s", l.daemonLog())
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.waitListening(d)
}

// waitListening waits until miniupnpd's sockets are bound.
func (l *pmLab) waitListening(d labDaemon) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out := l.in(l.router, "ss", "-lnu")
		if (!d.natpmp || strings.Contains(out, ":5351")) && (!d.upnp || strings.Contains(out, ":1900")) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.t.Fatalf("miniupnpd is not listening; its log:\n%s", l.daemonLog())
}

func (l *pmLab) daemonLog() string {
	b, _ := os.ReadFile(filepath.Join(l.dir, "console"))
	return string(b)
}

// stopDaemon stops miniupnpd by its PID and waits for it to exit.
func (l *pmLab) stopDaemon() {
	if l.daemonPID == 0 {
		return
	}
	pid := l.daemonPID
	l.daemonPID = 0
	syscall.Kill(pid, syscall.SIGTERM)
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// natRules is the router's own MINIUPNPD table: the DNAT rules really in
// force, whatever the daemon says.
func (l *pmLab) natRules() string {
	return l.in(l.router, "iptables-legacy", "-t", "nat", "-n", "-L", "MINIUPNPD")
}

// hasRule reports whether the router has a DNAT rule for proto dpt:port.
// (iptables-legacy cannot print the target of the DNAT revision miniupnpd
// writes; where it goes is proven by the data that arrives.)
func (l *pmLab) hasRule(proto string, port string) bool {
	num := map[string]string{"tcp": "6", "udp": "17"}[proto]
	re := regexp.MustCompile(`(?m)^DNAT\s+(` + proto + `|` + num + `)\s.*\b` + proto + ` dpt:` + port + `\b`)
	return re.MatchString(l.natRules())
}

// proc is a sockcat started in a namespace.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *bytes.Buffer
	done           chan error
}

func (l *pmLab) start(ns string, stdin []byte, args ...string) *proc {
	l.t.Helper()
	return l.startBin(ns, l.bin, stdin, nil, args...)
}

// startEnv is start with extra environment variables.
func (l *pmLab) startEnv(ns string, stdin []byte, env []string, args ...string) *proc {
	l.t.Helper()
	return l.startBin(ns, l.bin, stdin, env, args...)
}

// startBin starts bin in namespace ns; it is killed by its PID at the end
// of the test if still running.
func (l *pmLab) startBin(ns, bin string, stdin []byte, env []string, args ...string) *proc {
	l.t.Helper()
	p := &proc{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), done: make(chan error, 1)}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	p.cmd.Stdin = bytes.NewReader(stdin)
	if stdin == nil {
		p.cmd.Stdin = nil
	}
	p.cmd.Stdout, p.cmd.Stderr = &lockedBuf{b: p.stdout}, &lockedBuf{b: p.stderr}
	p.cmd.Env = append(append(os.Environ(), "SOCKCAT_NO_EXTERNAL=1"), env...)
	if err := p.cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	go waitProc(p) // its result is read in wait or at cleanup
	l.t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitProc reaps the process and hands over its exit.
func waitProc(p *proc) { p.done <- p.cmd.Wait() }

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s; stderr:\n%s", strings.Join(p.cmd.Args, " "), timeout, p.stderr)
	}
	return -1
}

// lockedBuf is a buffer a process writes while the test reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (p *proc) errText() string { return p.cmd.Stderr.(*lockedBuf).String() }
func (p *proc) outText() string { return p.cmd.Stdout.(*lockedBuf).String() }

// waitStderr waits until the process's stderr matches re and returns the
// submatches.
func (p *proc) waitStderr(t *testing.T, re string, timeout time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := rx.FindStringSubmatch(p.errText()); m != nil {
			return m
		}
	}
	t.Fatalf("stderr of %s never matched %q:\n%s", strings.Join(p.cmd.Args[3:], " "), re, p.errText())
	return nil
}

const reachableRE = `sockcat: reachable from the internet at (\d+\.\d+\.\d+\.\d+):(\d+) \((NAT-PMP|PCP|UPnP), lease ([^)]+)\)\n`

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 14))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// TestPortmapLab runs sockcat --map-port on the LAN host against miniupnpd
// on the router, and judges each mapping by the router's NAT table and by
// data sent from the public side.
func TestPortmapLab(t *testing.T) {
	l := newPMLab(t)
	l.startDaemon(labDaemon{natpmp: true, upnp: true})
	t.Run("tcp", func(t *testing.T) { labTCP(t, l) })
	t.Run("udp", func(t *testing.T) { labUDP(t, l) })
	t.Run("signals", func(t *testing.T) { labSignals(t, l) })
	t.Run("error_exit", func(t *testing.T) { labErrorExit(t, l) })
	t.Run("renewal", func(t *testing.T) { labRenewal(t, l) })
	t.Run("resolve", func(t *testing.T) { labResolve(t, l, true) })
	t.Run("double_nat", func(t *testing.T) { labDoubleNAT(t, l) })
	l.startDaemon(labDaemon{natpmp: true})
	t.Run("natpmp_pcp_only", func(t *testing.T) { labOneMethod(t, l, "(NAT-PMP|PCP)", "") })
	t.Run("natpmp_forced", func(t *testing.T) { labOneMethod(t, l, "NAT-PMP", "natpmp") })
	t.Run("pcp_forced", func(t *testing.T) { labOneMethod(t, l, "PCP", "pcp") })
	l.startDaemon(labDaemon{upnp: true})
	t.Run("upnp_only", func(t *testing.T) { labOneMethod(t, l, "UPnP", "") })
	l.startDaemon(labDaemon{natpmp: true, upnp: true, deny: 7400})
	t.Run("denied", func(t *testing.T) { labDenied(t, l, 7400) })
	t.Run("deletion_fails", func(t *testing.T) { labDeletionFails(t, l) })
	l.stopDaemon() // (already stopped by deletion_fails unless it was filtered out)
	t.Run("no_daemon", func(t *testing.T) { labNoDaemon(t, l) })
	t.Run("resolve_no_daemon", func(t *testing.T) { labResolve(t, l, false) })
	if t.Failed() {
		t.Logf("miniupnpd log:\n%s\nrouter NAT table:\n%s", l.daemonLog(), l.natRules())
	}
}

// labTCP: port 0, the mapped address from the public namespace, 256 KiB
// each way checked by sha256, the map file, the rule gone after the end.
func labTCP(t *testing.T, l *pmLab) {
	up, down := randBytes(256<<10, 1), randBytes(256<<10, 2)
	mapFile, addrFile := filepath.Join(t.TempDir(), "map"), filepath.Join(t.TempDir(), "addr")
	start := time.Now()
	srv := l.start(l.lan, down, "-l", "--map-port", "--map-file", mapFile, "--addr-file", addrFile, "0")
	m := srv.waitStderr(t, reachableRE, 5*time.Second)
	t.Logf("mapping granted by %s %s after start", m[3], time.Since(start).Round(time.Millisecond))
	ext, port := m[1], m[2]
	if ext != labExtRouter || m[4] != "1h" {
		t.Fatalf("mapping %s:%s lease %s, want %s and 1h", ext, port, m[4], labExtRouter)
	}
	if b, _ := os.ReadFile(mapFile); string(b) != ext+":"+port+"\n" {
		t.Errorf("--map-file has %q, want %q", b, ext+":"+port+"\n")
	}
	if b, _ := os.ReadFile(addrFile); !strings.HasSuffix(strings.TrimSpace(string(b)), ":"+port) {
		t.Logf("external port %s differs from the local one (%s): allowed", port, b)
	}
	if !l.hasRule("tcp", port) {
		t.Fatalf("router has no DNAT rule for tcp %s:\n%s", port, l.natRules())
	}
	cli := l.start(l.pub, up, ext, port)
	if st := cli.wait(t, 20*time.Second); st != 0 {
		t.Fatalf("client exit %d: %s", st, cli.errText())
	}
	if st := srv.wait(t, 10*time.Second); st != 0 {
		t.Fatalf("listener exit %d: %s", st, srv.errText())
	}
	if got := sum([]byte(srv.outText())); got != sum(up) {
		t.Errorf("listener received sha256 %s, want %s", got, sum(up))
	}
	if got := sum([]byte(cli.outText())); got != sum(down) {
		t.Errorf("client received sha256 %s, want %s", got, sum(down))
	}
	if l.hasRule("tcp", port) {
		t.Errorf("the rule for tcp %s is still on the router after the end:\n%s", port, l.natRules())
	}
}

// labUDP: a UDP listener bound to the LAN address with a fixed port,
// datagrams from the public side, then SIGTERM; the rule is gone.
func labUDP(t *testing.T, l *pmLab) {
	payload := randBytes(8<<10, 3)
	srv := l.start(l.lan, nil, "-l", "-u", "-k", "--map-port", labLANHost, "7300") // bound to the LAN address
	m := srv.waitStderr(t, reachableRE, 5*time.Second)
	if !l.hasRule("udp", m[2]) {
		t.Fatalf("router has no DNAT rule for udp %s:\n%s", m[2], l.natRules())
	}
	cli := l.start(l.pub, payload, "-u", "-q", "0.5", m[1], m[2])
	cli.wait(t, 10*time.Second)
	for deadline := time.Now().Add(5 * time.Second); len(srv.outText()) < len(payload) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if got := sum([]byte(srv.outText())); got != sum(payload) {
		t.Errorf("listener received %d bytes sha256 %s, want %d bytes %s", len(srv.outText()), got, len(payload), sum(payload))
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t, 5*time.Second)
	if l.hasRule("udp", m[2]) {
		t.Errorf("the rule for udp %s is still there after SIGTERM:\n%s", m[2], l.natRules())
	}
}

// labSignals: a -k listener ended by SIGINT, then by SIGTERM: exit 130 and
// the rule deleted.
func labSignals(t *testing.T, l *pmLab) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		srv := l.start(l.lan, nil, "-l", "-k", "--map-port", "7310")
		m := srv.waitStderr(t, reachableRE, 5*time.Second)
		if !l.hasRule("tcp", m[2]) {
			t.Fatalf("no rule for tcp %s:\n%s", m[2], l.natRules())
		}
		srv.cmd.Process.Signal(sig)
		if st := srv.wait(t, 5*time.Second); st != 130 {
			t.Errorf("%v: exit %d, want 130; stderr:\n%s", sig, st, srv.errText())
		}
		if l.hasRule("tcp", m[2]) {
			t.Errorf("%v: the rule for tcp %s is still there:\n%s", sig, m[2], l.natRules())
		}
	}
}

// labErrorExit: the session ends in an error (the -c program fails, exit
// 1): the rule is deleted all the same.
func labErrorExit(t *testing.T, l *pmLab) {
	srv := l.start(l.lan, nil, "-l", "--map-port", "-c", "exit 3", "7315")
	m := srv.waitStderr(t, reachableRE, 5*time.Second)
	if !l.hasRule("tcp", m[2]) {
		t.Fatalf("no rule for tcp %s:\n%s", m[2], l.natRules())
	}
	cli := l.start(l.pub, nil, m[1], m[2])
	cli.wait(t, 10*time.Second)
	if st := srv.wait(t, 10*time.Second); st != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", st, srv.errText())
	}
	if l.hasRule("tcp", m[2]) {
		t.Errorf("the rule for tcp %s is still there after the error:\n%s", m[2], l.natRules())
	}
}

// labRenewal: a 2s lease outlives itself: renewed at half-life, the rule
// still in the table after 2.5 leases (miniupnpd deletes expired ones).
func labRenewal(t *testing.T, l *pmLab) {
	srv := l.start(l.lan, nil, "-l", "-k", "-v", "--map-port", "--map-lease", "2s", "7320")
	m := srv.waitStderr(t, reachableRE, 5*time.Second)
	if m[4] != "2s" {
		t.Fatalf("lease %s, want 2s", m[4])
	}
	time.Sleep(5 * time.Second)
	if n := strings.Count(srv.errText(), "renewed the port mapping"); n < 3 {
		t.Errorf("%d renewals in 5s of a 2s lease, want at least 3:\n%s", n, srv.errText())
	}
	if !l.hasRule("tcp", m[2]) {
		t.Errorf("the rule for tcp %s expired despite the renewals:\n%s", m[2], l.natRules())
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t, 5*time.Second)
}

// labOneMethod: the daemon offers only some methods; the mapping comes
// from one of them, outlives its 2s lease by renewals, and carries data.
// With methods set, SOCKCAT_MAP_METHODS limits what sockcat tries.
func labOneMethod(t *testing.T, l *pmLab, method, methods string) {
	srv := l.startEnv(l.lan, []byte("from lan\n"), []string{"SOCKCAT_MAP_METHODS=" + methods}, "-l", "-v", "--map-port", "--map-lease", "2s", "7330")
	m := srv.waitStderr(t, strings.Replace(reachableRE, "(NAT-PMP|PCP|UPnP)", method, 1), 5*time.Second)
	if !l.hasRule("tcp", m[2]) {
		t.Fatalf("no rule for tcp %s:\n%s", m[2], l.natRules())
	}
	time.Sleep(2500 * time.Millisecond)
	if n := strings.Count(srv.errText(), "renewed the port mapping (lease 2s)"); n < 2 || !l.hasRule("tcp", m[2]) {
		t.Errorf("%d renewals in 2.5s; rule present: %v\n%s", n, l.hasRule("tcp", m[2]), srv.errText())
	}
	cli := l.start(l.pub, []byte("from pub\n"), m[1], m[2])
	cli.wait(t, 10*time.Second)
	srv.wait(t, 10*time.Second)
	t.Logf("%s", m[0])
	if srv.outText() != "from pub\n" || cli.outText() != "from lan\n" {
		t.Errorf("listener got %q, client got %q", srv.outText(), cli.outText())
	}
	if l.hasRule("tcp", m[2]) {
		t.Errorf("the rule for tcp %s is still there:\n%s", m[2], l.natRules())
	}
}

// labDenied: the daemon's rules refuse the port: one warning naming each
// method's refusal, and the listener goes on.
func labDenied(t *testing.T, l *pmLab, port int) {
	srv := l.start(l.lan, nil, "-l", "-k", "--map-port", fmt.Sprint(port))
	m := srv.waitStderr(t, `sockcat: warning: --map-port: no port mapping granted by gateway `+labGateway+` \((.*)\); listening for local peers only\n`, 5*time.Second)
	for _, want := range []string{"NAT-PMP: refused", "PCP: refused", "UPnP: refused"} {
		if !strings.Contains(m[1], want) {
			t.Errorf("warning %q does not say %q", m[1], want)
		}
	}
	t.Logf("warning: %s", m[0])
	if strings.Contains(srv.errText(), "reachable from the internet") {
		t.Errorf("a mapping was announced:\n%s", srv.errText())
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t, 5*time.Second)
}

// labDeletionFails: the daemon goes away while sockcat runs; at the end
// the deletion fails and says so in one warning line. (Stops the daemon.)
func labDeletionFails(t *testing.T, l *pmLab) {
	srv := l.start(l.lan, nil, "-l", "-k", "--map-port", "7370")
	m := srv.waitStderr(t, reachableRE, 5*time.Second)
	l.stopDaemon()
	srv.cmd.Process.Signal(syscall.SIGTERM)
	if st := srv.wait(t, 8*time.Second); st != 130 {
		t.Errorf("exit %d, want 130", st)
	}
	want := regexp.MustCompile(`(?m)^sockcat: warning: deleting the ` + m[3] + ` mapping ` + regexp.QuoteMeta(m[1]+":"+m[2]) + `: .+\n`)
	t.Logf("%s", srv.errText())
	if !want.MatchString(srv.errText()) || strings.Count(srv.errText(), "warning") != 1 {
		t.Errorf("stderr does not have one deletion warning:\n%s", srv.errText())
	}
}

// labNoDaemon: nothing answers: the warning within about 3s, no map file,
// and a local client is served.
func labNoDaemon(t *testing.T, l *pmLab) {
	mapFile := filepath.Join(t.TempDir(), "map")
	start := time.Now()
	srv := l.start(l.lan, []byte("hi local\n"), "-l", "--map-port", "--map-file", mapFile, "7340")
	srv.waitStderr(t, `sockcat: warning: --map-port: no port mapping granted by gateway `+labGateway+` \(NAT-PMP: [^;]+; PCP: [^;]+; UPnP: [^)]+\); listening for local peers only\n`, 5*time.Second)
	if d := time.Since(start); d > 3800*time.Millisecond {
		t.Errorf("warning after %s, want about 3s", d)
	}
	if _, err := os.Stat(mapFile); err == nil {
		t.Errorf("--map-file written although nothing was mapped")
	}
	cli := l.start(l.lan, []byte("hi listener\n"), "127.0.0.1", "7340")
	cli.wait(t, 10*time.Second)
	if st := srv.wait(t, 10*time.Second); st != 0 || srv.outText() != "hi listener\n" || cli.outText() != "hi local\n" {
		t.Errorf("exit %d, listener got %q, client got %q; stderr:\n%s", st, srv.outText(), cli.outText(), srv.errText())
	}
}

// labResolve: `sockcat resolve --json` in the LAN host shows the gateway
// and what each method answered.
func labResolve(t *testing.T, l *pmLab, daemon bool) {
	txt := l.start(l.lan, nil, "resolve", "--timeout", "1s")
	txt.wait(t, 10*time.Second)
	wantTxt := []string{"\nPORT MAPPING  (gateway " + labGateway + ")\n", "\n  METHOD   ANSWER  EXTERNAL    NOTE\n",
		"\n  NAT-PMP  yes     11.22.33.1\n", "\n  PCP      yes     -\n", "\n  UPnP     yes     11.22.33.1\n",
		"your router offers NAT-PMP, PCP and UPnP: sockcat -l --map-port 9090 opens port 9090 to the internet"}
	if !daemon {
		wantTxt = []string{"\n  UPnP     no      -         no answer to SSDP search\n"}
	}
	for _, w := range wantTxt {
		if !strings.Contains(txt.outText(), w) {
			t.Errorf("resolve table lacks %q:\n%s", w, txt.outText())
		}
	}
	p := l.start(l.lan, nil, "resolve", "--json", "--timeout", "1s")
	if st := p.wait(t, 10*time.Second); st != 0 {
		t.Fatalf("resolve exit %d: %s", st, p.errText())
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(p.outText()), &raw); err != nil {
		t.Fatalf("resolve --json: %v\n%s", err, p.outText())
	}
	var pm struct {
		Gateway *string                    `json:"gateway"`
		Methods map[string]json.RawMessage `json:"-"`
	}
	if err := json.Unmarshal(raw["portmap"], &pm); err != nil || pm.Gateway == nil || *pm.Gateway != labGateway {
		t.Fatalf("portmap.gateway: %v; section: %s", err, raw["portmap"])
	}
	var methods map[string]json.RawMessage
	json.Unmarshal(raw["portmap"], &methods)
	for _, name := range []string{"natpmp", "pcp", "upnp"} {
		var st map[string]any
		if err := json.Unmarshal(methods[name], &st); err != nil {
			t.Fatalf("portmap.%s: %v in %s", name, err, raw["portmap"])
		}
		for _, f := range []string{"available", "external_ip", "error"} {
			if _, ok := st[f]; !ok {
				t.Errorf("portmap.%s.%s missing: %s", name, f, methods[name])
			}
		}
		if st["available"] != daemon {
			t.Errorf("portmap.%s.available = %v, want %v: %s", name, st["available"], daemon, methods[name])
		}
		wantIP := any(nil)
		if daemon && name != "pcp" { // PCP's ANNOUNCE does not tell the address
			wantIP = labExtRouter
		}
		if st["external_ip"] != wantIP {
			t.Errorf("portmap.%s.external_ip = %v, want %v", name, st["external_ip"], wantIP)
		}
		if (st["error"] == nil) != daemon {
			t.Errorf("portmap.%s.error = %v with daemon=%v", name, st["error"], daemon)
		}
	}
}

// labDoubleNAT: a STUN server (coturn) on the public side. First it sees
// the router's address: no warning. Then the public namespace rewrites the
// source of what reaches the STUN port, as a provider's NAT in front of the
// router would: the warning names both addresses.
func labDoubleNAT(t *testing.T, l *pmLab) {
	if _, err := exec.LookPath("turnserver"); err != nil {
		t.Skip("turnserver missing: scripts/test.sh installs coturn")
	}
	stun := labExtPublic + ":3478"
	ts := l.startBin(l.pub, "turnserver", nil, nil, "-n", "--stun-only", "-L", labExtPublic, "-p", "3478", "--no-cli", "--no-tls", "--no-dtls",
		"--log-file", "stdout", "--simple-log", "--pidfile", filepath.Join(t.TempDir(), "turnserver.pid"))
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(l.in(l.pub, "ss", "-lun"), stun); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("turnserver not listening:\n%s", ts.outText())
		}
	}
	srv := l.start(l.lan, nil, "-l", "-k", "-v", "--map-port", "--stun", stun, "7350")
	srv.waitStderr(t, `double-NAT check: STUN sees this host as `+regexp.QuoteMeta(labExtRouter)+`\n`, 8*time.Second)
	if strings.Contains(srv.errText(), "double NAT") {
		t.Errorf("double NAT reported while STUN agrees:\n%s", srv.errText())
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t, 5*time.Second)

	l.in(l.pub, "iptables", "-t", "nat", "-A", "INPUT", "-p", "udp", "--dport", "3478", "-s", labExtRouter, "-j", "SNAT", "--to-source", "11.22.33.9")
	srv = l.start(l.lan, nil, "-l", "-k", "--map-port", "--stun", stun, "7351")
	srv.waitStderr(t, `sockcat: warning: double NAT: the router's external address 11\.22\.33\.1 is not this host's public address 11\.22\.33\.9, so the mapping does not make this host reachable from the internet\n`, 8*time.Second)
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t, 5*time.Second)
}
