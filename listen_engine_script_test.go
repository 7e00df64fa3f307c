package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands for the listen_engine_*, forward_* and udp_exec_*
// scripts: a server whose stdin stays open and idle, its descriptors and
// memory read from /proc, and clients that end in a chosen way.
func init() {
	scriptCmds["idleserve"] = cmdIdleServe
	scriptCmds["fds"] = cmdFds
	scriptCmds["fdsback"] = cmdFdsBack
	scriptCmds["fdsabove"] = cmdFdsAbove
	scriptCmds["clients"] = cmdClients
	scriptCmds["udpflood"] = cmdUDPFlood
	scriptCmds["rssbelow"] = cmdRSSBelow
	scriptCmds["udpask"] = cmdUDPAsk
	scriptConds["race"] = func() (bool, error) { return raceEnabled, nil }
}

// idleServed is a process started by idleserve.
type idleServed struct {
	cmd  *exec.Cmd
	done chan error
}

// idleServers holds the idleserve processes of the running scripts.
var idleServers = struct {
	sync.Mutex
	m map[string]*idleServed // by $WORK/NAME
}{m: map[string]*idleServed{}}

func idleServer(ts *testscript.TestScript, name string) *idleServed {
	idleServers.Lock()
	p := idleServers.m[ts.MkAbs(name)]
	idleServers.Unlock()
	if p == nil {
		ts.Fatalf("no idleserve process %q", name)
	}
	return p
}

// cmdIdleServe starts PROG in $WORK with its stdin a pipe that stays open
// and idle (as `sleep 600 | sockcat -l -k …`), its stdout and stderr going
// to NAME.out and NAME.err. It is stopped by PID when the script ends.
//
//	idleserve NAME PROG ARGS...
func cmdIdleServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: idleserve NAME PROG ARGS...")
	}
	name, args := args[0], args[1:]
	inR, inW, err := os.Pipe()
	ts.Check(err)
	out, err := os.Create(ts.MkAbs(name + ".out"))
	ts.Check(err)
	errf, err := os.Create(ts.MkAbs(name + ".err"))
	ts.Check(err)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = append(os.Environ(), "WORK="+ts.Getenv("WORK"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, out, errf
	ts.Check(cmd.Start())
	inR.Close()
	p := &idleServed{cmd: cmd, done: make(chan error, 1)}
	go waitIdleServer(p, out, errf)
	key := ts.MkAbs(name)
	idleServers.Lock()
	idleServers.m[key] = p
	idleServers.Unlock()
	ts.Defer(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		inW.Close()
		idleServers.Lock()
		delete(idleServers.m, key)
		idleServers.Unlock()
	})
}

func waitIdleServer(p *idleServed, out, errf *os.File) {
	err := p.cmd.Wait()
	out.Close()
	errf.Close()
	p.done <- err
}

// openFds counts the descriptors of a process.
func openFds(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// cmdFds sets VAR to the number of open descriptors of an idleserve
// process.
//
//	fds NAME VAR
func cmdFds(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fds NAME VAR")
	}
	n, err := openFds(idleServer(ts, args[0]).cmd.Process.Pid)
	ts.Check(err)
	ts.Setenv(args[1], strconv.Itoa(n))
}

// cmdFdsBack waits (bounded) until an idleserve process has no more open
// descriptors than N: every session it served has released its socket.
//
// An optional SLACK is added to N: os/exec keeps a few pipes of its own
// around concurrent starts, so -e listeners allow 4 (far below one per
// client).
//
//	fdsback NAME N [SLACK]
func cmdFdsBack(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: fdsback NAME N [SLACK]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	if len(args) == 3 {
		slack, err := strconv.Atoi(args[2])
		ts.Check(err)
		want += slack
	}
	pid := idleServer(ts, args[0]).cmd.Process.Pid
	deadline := time.Now().Add(waitTimeout)
	for {
		n, err := openFds(pid)
		ts.Check(err)
		if n <= want {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s has %d open descriptors after %v, want at most %d", args[0], n, waitTimeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cmdFdsAbove waits (bounded) until an idleserve process has more open
// descriptors than N: a new client has been accepted.
//
//	fdsabove NAME N
func cmdFdsAbove(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: fdsabove NAME N")
	}
	limit, err := strconv.Atoi(args[1])
	ts.Check(err)
	pid := idleServer(ts, args[0]).cmd.Process.Pid
	deadline := time.Now().Add(waitTimeout)
	for {
		n, err := openFds(pid)
		ts.Check(err)
		if n > limit {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s has %d open descriptors after %v, want more than %d", args[0], n, waitTimeout, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cmdClients connects N clients one after the other; each sends "hi\n" and
// then ends as MODE says: fin closes the socket (FIN); half shuts down its
// write side and then reads until the server closes (bounded), failing if
// the server does not.
//
//	clients fin|half N HOST PORT
func cmdClients(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 || (args[0] != "fin" && args[0] != "half") {
		ts.Fatalf("usage: clients fin|half N HOST PORT")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	addr := net.JoinHostPort(args[2], args[3])
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, waitTimeout)
		ts.Check(err)
		_, err = c.Write([]byte("hi\n"))
		ts.Check(err)
		if args[0] == "fin" {
			c.Close()
			continue
		}
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(waitTimeout))
		_, err = io.Copy(io.Discard, c)
		c.Close()
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			ts.Fatalf("client %d: the server did not close after its half-close: %v", i, err)
		}
	}
}

// cmdUDPFlood sends one datagram to HOST PORT from each of N senders (each
// a socket of its own on 127.1.X.Y, closed at once).
//
//	udpflood N HOST PORT
func cmdUDPFlood(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: udpflood N HOST PORT")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	to, err := net.ResolveUDPAddr("udp", net.JoinHostPort(args[1], args[2]))
	ts.Check(err)
	msg := []byte("flood\n")
	for i := range n {
		// Many loopback source addresses: one address has fewer ephemeral
		// ports than N.
		src := net.IPv4(127, 1, byte(i/250%250), byte(1+i%250))
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: src})
		ts.Check(err)
		c.WriteToUDP(msg, to)
		c.Close()
	}
}

// cmdRSSBelow fails unless an idleserve process's resident memory
// (VmRSS in /proc/PID/status) is below KB kibibytes.
//
//	rssbelow NAME KB
func cmdRSSBelow(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: rssbelow NAME KB")
	}
	limit, err := strconv.Atoi(args[1])
	ts.Check(err)
	pid := idleServer(ts, args[0]).cmd.Process.Pid
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	ts.Check(err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			ts.Check(err)
			ts.Logf("%s: VmRSS %d kB", args[0], kb)
			if kb >= limit {
				ts.Fatalf("%s: VmRSS %d kB, want below %d kB", args[0], kb, limit)
			}
			return
		}
	}
	ts.Fatalf("no VmRSS in /proc/%d/status", pid)
}

// cmdUDPAsk sends MSG (Go escapes such as \n allowed) from a socket of its
// own to HOST PORT, again every 500ms, until one reply datagram comes
// (bounded); it must equal WANT.
//
//	udpask HOST PORT MSG WANT
func cmdUDPAsk(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: udpask HOST PORT MSG WANT")
	}
	msg, err := strconv.Unquote(`"` + args[2] + `"`)
	ts.Check(err)
	want, err := strconv.Unquote(`"` + args[3] + `"`)
	ts.Check(err)
	c, err := net.Dial("udp", net.JoinHostPort(args[0], args[1]))
	ts.Check(err)
	defer c.Close()
	b := make([]byte, 65536)
	deadline := time.Now().Add(waitTimeout)
	var n int
	for {
		// Resent every 500ms, as a UDP client does: a listener at its -m
		// cap drops or refuses a new sender until a session ends.
		_, err = c.Write([]byte(msg))
		ts.Check(err)
		next := time.Now().Add(500 * time.Millisecond)
		if next.After(deadline) {
			next = deadline
		}
		c.SetReadDeadline(next)
		n, err = c.Read(b)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	ts.Check(err)
	if got := string(b[:n]); got != want {
		ts.Fatalf("udpask: got %q, want %q", got, want)
	}
}
