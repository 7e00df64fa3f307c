package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sockcat/sockcat/ioutil"
)

var update = flag.Bool("update", false, "rewrite golden sections in testdata/script")

// scriptCmds and scriptConds collect the custom testscript commands and
// conditions; test files of each area add theirs in init.
var (
	scriptCmds  = map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	scriptConds = map[string]func() (bool, error){}
)

func TestMain(m *testing.M) {
	// Tests never reach the internet: resolve refuses non-loopback servers.
	os.Setenv("SOCKCAT_NO_EXTERNAL", "1")
	testscript.Main(m, map[string]func(){
		"sockcat": func() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) },
	})
}

func TestScript(t *testing.T) {
	t.Parallel()
	cmds := map[string]func(*testscript.TestScript, bool, []string){
		"waitaddr": cmdWaitAddr,
		"waitfile": cmdWaitFile,
		"mkrand":   cmdMkrand,
		"freeport": cmdFreeport,
		"sleep":    cmdSleep,
	}
	for k, v := range scriptCmds {
		cmds[k] = v
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Cmds:                cmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("SOCKCAT_NO_EXTERNAL", "1")
			env.Setenv("SOCKCAT_NO_PORTMAP", "1") // resolve asks no real gateway (the --map-port lab has its own)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "ipv6":
				ln, err := net.Listen("tcp6", "[::1]:0")
				if err != nil {
					return false, nil
				}
				ln.Close()
				return true, nil
			case "root":
				return os.Geteuid() == 0, nil
			}
			if f, ok := scriptConds[cond]; ok {
				return f()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// waitTimeout bounds every wait in the scripts.
const waitTimeout = 10 * time.Second

// cmdWaitAddr waits for a file holding HOST:PORT (as --addr-file writes
// it) and sets $VAR_HOST, $VAR_PORT and $VAR (HOST:PORT, brackets kept).
//
//	waitaddr FILE VAR
func cmdWaitAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitaddr FILE VAR")
	}
	data := waitFor(ts, args[0])
	addr := strings.TrimSpace(data)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		ts.Fatalf("waitaddr: %q: %v", addr, err)
	}
	if host == "::" || host == "0.0.0.0" || host == "" {
		host = "127.0.0.1"
		if strings.Contains(addr, "[") && !strings.HasPrefix(addr, "[::]") {
			host = "::1"
		}
	}
	ts.Setenv(args[1]+"_HOST", host)
	ts.Setenv(args[1]+"_PORT", port)
	ts.Setenv(args[1], net.JoinHostPort(host, port))
}

// cmdWaitFile waits until FILE exists and is not empty (and, with a
// second argument, contains TEXT).
//
//	waitfile FILE [TEXT]
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waitfile FILE [TEXT]")
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil && len(b) > 0 && (len(args) == 1 || bytes.Contains(b, []byte(args[1]))) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitfile %s: not ready after %v (have %q)", args[0], waitTimeout, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(ts *testscript.TestScript, name string) string {
	deadline := time.Now().Add(waitTimeout)
	for {
		b, err := os.ReadFile(ts.MkAbs(name))
		if err == nil && bytes.HasSuffix(b, []byte("\n")) {
			return string(b)
		}
		if time.Now().After(deadline) {
			ts.Fatalf("%s: not written after %v", name, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cmdMkrand writes SIZE deterministic pseudo-random bytes from SEED.
//
//	mkrand FILE SIZE SEED
func cmdMkrand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: mkrand FILE SIZE SEED")
	}
	n, err := ioutil.ParseSize(args[1])
	ts.Check(err)
	seed, err := strconv.ParseUint(args[2], 10, 64)
	ts.Check(err)
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f, err := os.Create(ts.MkAbs(args[0]))
	ts.Check(err)
	w := bufio.NewWriter(f)
	for i := int64(0); i < n; i++ {
		w.WriteByte(byte(r.Uint32()))
	}
	ts.Check(w.Flush())
	ts.Check(f.Close())
}

// cmdFreeport sets VAR to a port that was free a moment ago on 127.0.0.1,
// for peers that cannot report the port they bound.
//
//	freeport VAR [udp]
func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: freeport VAR [udp]")
	}
	var port int
	if len(args) == 2 && args[1] == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		ts.Check(err)
		port = c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
	} else {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		ts.Check(err)
		port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
	}
	ts.Setenv(args[0], strconv.Itoa(port))
}

// cmdSleep pauses for a duration (bounded), for peers with no readiness
// signal.
//
//	sleep DUR
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sleep DUR")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	if d > 5*time.Second {
		ts.Fatalf("sleep %v: too long for a test", d)
	}
	time.Sleep(d)
}
