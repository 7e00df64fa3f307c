//go:build linux

package p2p

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The lab (scripts/p2plab.sh): two hosts behind two MASQUERADE routers and a
// "public" namespace with coturn. Each side of Connect runs in this process
// on a thread that entered its host's namespace, with the in-memory mailbox
// between them; the sockets stay in that namespace.

var labSeq atomic.Int32

type lab struct {
	t      *testing.T
	prefix string
	script string
}

func labTools(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the lab needs root (network namespaces, iptables)")
	}
	for _, tool := range []string{"ip", "iptables", "turnserver", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the lab needs %s: %v", tool, err)
		}
	}
}

// newLab builds the lab and deletes it at the end of the test.
func newLab(t *testing.T) *lab {
	labTools(t)
	script, err := filepath.Abs("../../scripts/p2plab.sh")
	if err != nil {
		t.Fatal(err)
	}
	l := &lab{t: t, prefix: fmt.Sprintf("scp2p-%d-%d", os.Getpid(), labSeq.Add(1)), script: script}
	t.Cleanup(func() { l.run("down", l.prefix) })
	l.run("up", l.prefix)
	l.turn()
	return l
}

func (l *lab) run(args ...string) {
	l.t.Helper()
	out, err := exec.Command("bash", append([]string{l.script}, args...)...).CombinedOutput()
	if err != nil {
		l.t.Fatalf("p2plab.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func (l *lab) nat(router, mode string) { l.run("nat", l.prefix, router, mode) }

func (l *lab) v6(mode string) { l.run("v6", l.prefix, mode) }

// turn starts coturn in the public namespace (STUN and TURN, user u:p) and
// waits until it answers STUN from a host behind a router.
func (l *lab) turn() {
	dir := l.t.TempDir()
	log, err := os.Create(filepath.Join(dir, "turnserver.log"))
	if err != nil {
		l.t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", l.prefix+"-pub", "turnserver", "-n",
		"-L", "203.0.113.1", "-L", "203.0.113.2", "-p", "3478", "--relay-ip", "203.0.113.1",
		"--min-port", "49152", "--max-port", "49999",
		"--lt-cred-mech", "--user", "u:p", "--realm", "sockcat.test",
		"--no-cli", "--no-tls", "--no-dtls", "--log-file", "stdout", "--simple-log",
		"--pidfile", filepath.Join(dir, "turnserver.pid"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	done := make(chan struct{})
	go waitCmd(cmd, done)
	l.t.Cleanup(func() {
		cmd.Process.Signal(unix.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log.Close()
	})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var got []Candidate
		inNS(l.prefix+"-ha", func() { got = l.stunOnce() })
		if len(got) > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(log.Name())
	l.t.Fatalf("turnserver does not answer STUN in the lab\n%s", b)
}

func (l *lab) stunOnce() []Candidate {
	pkts := make(chan packet, 8)
	uc, err := listenUDP()
	if err != nil {
		return nil
	}
	s := newPathSocket(uc, false, addrPortOf(uc.LocalAddr()), pkts)
	defer s.close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	return stunCandidates(ctx, s, pkts, []string{"203.0.113.1:3478"}, func(string, ...any) {})
}

// inNS runs f on a thread inside the named network namespace. The thread
// is never returned to the scheduler: it ends with the goroutine.
func inNS(name string, f func()) {
	done := make(chan struct{})
	go runInNS(name, f, done)
	<-done
}

func runInNS(name string, f func(), done chan<- struct{}) {
	defer close(done)
	runtime.LockOSThread() // not unlocked: the thread dies with the goroutine
	fd, err := unix.Open("/var/run/netns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		panic(err)
	}
	defer unix.Close(fd)
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		panic(err)
	}
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		panic(err)
	}
	f()
}

// waitCmd waits for cmd and closes done.
func waitCmd(cmd *exec.Cmd, done chan<- struct{}) {
	cmd.Wait()
	close(done)
}

// connectIn runs Connect in namespace ns.
func connectIn(ctx context.Context, ns string, mb Keyed, role Role, opt Options, r *connResult, wg *sync.WaitGroup) {
	defer wg.Done()
	inNS(ns, func() { r.c, r.err = Connect(ctx, mb, role, opt) })
}

// labPair runs Connect in two namespaces.
func (l *lab) pair(nsA, nsB string, optA, optB Options) (connResult, connResult) {
	a, b := memPair([]byte("lab"), []byte("lab"))
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var ra, rb connResult
	var wg sync.WaitGroup
	wg.Add(2)
	go connectIn(ctx, l.prefix+"-"+nsA, a, RoleCreator, optA, &ra, &wg)
	go connectIn(ctx, l.prefix+"-"+nsB, b, RoleJoiner, optB, &rb, &wg)
	wg.Wait()
	for _, r := range []connResult{ra, rb} {
		if r.c != nil {
			l.t.Cleanup(func() { r.c.Close() })
		}
	}
	return ra, rb
}

func labOptions(relay bool) Options {
	o := Options{STUN: []string{"203.0.113.1:3478", "203.0.113.2:3478"}}
	if relay {
		r, _ := ParseRelayURL("turn://u:p@203.0.113.1:3478")
		o.Relays = []RelayURL{r}
	}
	return o
}

// TestLab: the NAT cases, in one lab.
func TestLab(t *testing.T) {
	l := newLab(t)
	t.Run("cone", func(t *testing.T) {
		ra, rb := l.pair("ha", "hb", labOptions(false), labOptions(false))
		if ra.err != nil || rb.err != nil {
			t.Fatalf("creator %v, joiner %v", ra.err, rb.err)
		}
		for _, c := range []*Conn{ra.c, rb.c} {
			if p := c.Path(); p.Kind != "direct" || !strings.HasPrefix(p.Remote.Addr().String(), "203.0.113.") {
				t.Errorf("path %+v, want direct to a router's public address", p)
			}
		}
		exchange(t, ra.c, rb.c, 16<<20)
	})
	t.Run("same-lan", func(t *testing.T) {
		ra, rb := l.pair("ha", "ha2", labOptions(false), labOptions(false))
		if ra.err != nil || rb.err != nil {
			t.Fatalf("creator %v, joiner %v", ra.err, rb.err)
		}
		for _, c := range []*Conn{ra.c, rb.c} {
			if p := c.Path(); p.Kind != "lan" || !strings.HasPrefix(p.Remote.Addr().String(), "10.0.1.") {
				t.Errorf("path %+v, want lan", p)
			}
		}
		exchange(t, ra.c, rb.c, 1<<20)
	})
	l.nat("b", "random")
	t.Run("port-per-destination", func(t *testing.T) {
		start := time.Now()
		ra, rb := l.pair("ha", "hb", labOptions(false), labOptions(false))
		if ra.err == nil || rb.err == nil {
			t.Fatalf("creator %v, joiner %v: want no path", ra.err, rb.err)
		}
		for _, c := range []struct {
			err error
			why string
		}{{ra.err, "the peer's NAT maps ports per destination"}, {rb.err, "this side's NAT maps ports per destination"}} {
			if !errors.Is(c.err, ErrNoPath) || !strings.Contains(c.err.Error(), c.why) || !strings.Contains(c.err.Error(), "--relay") {
				t.Errorf("error %q: want no path because %s, naming --relay", c.err, c.why)
			}
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("port-per-destination-relay", func(t *testing.T) {
		ra, rb := l.pair("ha", "hb", labOptions(false), labOptions(true))
		if ra.err != nil || rb.err != nil {
			t.Fatalf("creator %v, joiner %v", ra.err, rb.err)
		}
		for _, c := range []*Conn{ra.c, rb.c} {
			if p := c.Path(); p.Kind != "relay" {
				t.Errorf("path %+v, want relay", p)
			}
		}
		exchange(t, ra.c, rb.c, 4<<20)
	})
	l.nat("a", "random")
	l.v6("on")
	t.Run("global-ipv6", func(t *testing.T) {
		// No IPv4 path exists (both NATs map per destination), but the hosts
		// have routed IPv6 addresses behind stateful firewalls: the punch
		// opens both firewalls.
		ra, rb := l.pair("ha", "hb", labOptions(false), labOptions(false))
		if ra.err != nil || rb.err != nil {
			t.Fatalf("creator %v, joiner %v", ra.err, rb.err)
		}
		for _, c := range []*Conn{ra.c, rb.c} {
			if p := c.Path(); p.Kind != "direct" || !strings.HasPrefix(p.Remote.Addr().String(), "2001:db8:") {
				t.Errorf("path %+v, want direct over global IPv6", p)
			}
		}
		exchange(t, ra.c, rb.c, 1<<20)
	})
}
