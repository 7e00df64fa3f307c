package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sockcat/sockcat/ioutil"
)

// Commands and conditions of the interop scripts (interop_*.txtar), which
// run sockcat against real peers: OpenBSD nc, socat and Python sockets.
func init() {
	scriptCmds["waitport"] = cmdWaitPort
	scriptCmds["waitsize"] = cmdWaitSize
	scriptConds["ncopenbsd"] = func() (bool, error) {
		p, err := exec.LookPath("nc")
		if err != nil {
			return false, nil
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return false, nil
		}
		return strings.Contains(filepath.Base(real), "openbsd"), nil
	}
}

// cmdWaitPort waits until something on this host listens on TCP PORT (or,
// with udp, has bound UDP PORT), for peers that cannot report the port they
// bound. It reads /proc/net instead of connecting: a one-shot listener such
// as nc -l would take a probe connection for its client.
//
//	waitport PORT [udp]
func cmdWaitPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 || (len(args) == 2 && args[1] != "udp") {
		ts.Fatalf("usage: waitport PORT [udp]")
	}
	port, err := strconv.ParseUint(args[0], 10, 16)
	ts.Check(err)
	files, state := []string{"/proc/net/tcp", "/proc/net/tcp6"}, "0A" // TCP_LISTEN
	if len(args) == 2 {
		files, state = []string{"/proc/net/udp", "/proc/net/udp6"}, "07" // TCP_CLOSE: bound, unconnected
	}
	deadline := time.Now().Add(waitTimeout)
	for !portBound(files, fmt.Sprintf(":%04X", port), state) {
		if time.Now().After(deadline) {
			ts.Fatalf("waitport %s: nothing bound after %v", strings.Join(args, " "), waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// portBound reports whether a /proc/net table lists a local address ending
// in suffix (":1F90") in the given state.
func portBound(files []string, suffix, state string) bool {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 3 && strings.HasSuffix(fields[1], suffix) && fields[3] == state {
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}

// cmdWaitSize waits until FILE holds at least SIZE bytes (a peer writing
// received data to a file), for at most waitTimeout.
//
//	waitsize FILE SIZE
func cmdWaitSize(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitsize FILE SIZE")
	}
	want, err := ioutil.ParseSize(args[1])
	ts.Check(err)
	deadline := time.Now().Add(waitTimeout)
	for {
		fi, err := os.Stat(ts.MkAbs(args[0]))
		if err == nil && fi.Size() >= want {
			return
		}
		if time.Now().After(deadline) {
			var have int64
			if fi != nil {
				have = fi.Size()
			}
			ts.Fatalf("waitsize %s: %d bytes after %v, want %d", args[0], have, waitTimeout, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
