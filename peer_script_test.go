package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sockcat/sockcat/modes/p2p"
)

// Script commands of the --p2p lab (scripts/p2plab.sh): two MASQUERADE
// routers with hosts behind them and a public namespace running coturn and
// `sockcat rendezvous`. Everything is deleted when the script ends.
func init() {
	scriptCmds["p2plab"] = cmdP2PLab
	scriptCmds["p2pnat"] = cmdP2PNat
	scriptCmds["p2pcode"] = cmdP2PCode
	scriptConds["p2plab"] = func() (bool, error) {
		if os.Geteuid() != 0 {
			return false, nil
		}
		for _, t := range []string{"ip", "iptables", "turnserver", "ss", "bash"} {
			if _, err := exec.LookPath(t); err != nil {
				return false, nil
			}
		}
		return true, nil
	}
}

var p2pLabSeq atomic.Int32

// The lab's fixed addresses (see scripts/p2plab.sh).
const (
	p2pLabRendezvous = "203.0.113.1:7000"
	p2pLabSTUN       = "203.0.113.1:3478,203.0.113.2:3478"
)

// cmdP2PLab builds the lab, starts coturn (STUN and TURN, user u:p) and a
// rendezvous in its public namespace, waits for both, and sets VAR to the
// namespace prefix (namespaces VAR-ha, VAR-ha2, VAR-hb, VAR-pub).
//
//	p2plab VAR
func cmdP2PLab(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: p2plab VAR")
	}
	prefix := fmt.Sprintf("scp2p-%d-s%d", os.Getpid(), p2pLabSeq.Add(1))
	ts.Defer(func() { p2pLabScript("down", prefix) })
	if out, err := p2pLabScript("up", prefix); err != nil {
		ts.Fatalf("p2plab.sh up: %v\n%s", err, out)
	}
	pub := prefix + "-pub"
	work := ts.Getenv("WORK")
	stop, err := resolveStartProcess(work, "ip", []string{"netns", "exec", pub, "turnserver", "-n",
		"-L", "203.0.113.1", "-L", "203.0.113.2", "-p", "3478", "--relay-ip", "203.0.113.1", "--min-port", "49152", "--max-port", "49999",
		"--lt-cred-mech", "--user", "u:p", "--realm", "sockcat.test", "--no-cli", "--no-tls", "--no-dtls",
		"--log-file", "stdout", "--simple-log", "--pidfile", filepath.Join(work, "turnserver.pid")}, "turnserver.log")
	ts.Check(err)
	ts.Defer(stop)
	sc := p2pSockcatPath(ts)
	stopRV, err := resolveStartProcess(work, "ip", []string{"netns", "exec", pub, sc, "rendezvous", "203.0.113.1", "7000"}, "rendezvous.log")
	ts.Check(err)
	ts.Defer(stopRV)
	p2pWaitListening(ts, pub, "-Hlun", "3478")
	p2pWaitListening(ts, pub, "-Hltn", "7000")
	ts.Setenv(args[0], prefix)
	ts.Setenv("P2P_RENDEZVOUS", "sockcat://"+p2pLabRendezvous)
	ts.Setenv("SOCKCAT_STUN", p2pLabSTUN)
}

// p2pSockcatPath finds the sockcat command of the script's PATH (the test
// binary testscript installed), for processes started outside exec.
func p2pSockcatPath(ts *testscript.TestScript) string {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, "sockcat")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	ts.Fatalf("sockcat is not in the script's PATH")
	return ""
}

// p2pWaitListening waits until a socket listens on port in namespace ns.
func p2pWaitListening(ts *testscript.TestScript, ns, flags, port string) {
	deadline := time.Now().Add(waitTimeout)
	for {
		out, _ := exec.Command("ip", "netns", "exec", ns, "ss", flags, "sport = :"+port).Output()
		if len(strings.TrimSpace(string(out))) > 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("nothing listens on port %s in %s after %v", port, ns, waitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func p2pLabScript(args ...string) ([]byte, error) {
	return exec.Command("bash", append([]string{"scripts/p2plab.sh"}, args...)...).CombinedOutput()
}

// cmdP2PNat switches router a or b to cone or random (port per destination).
//
//	p2pnat LAB a|b cone|random
func cmdP2PNat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: p2pnat LAB a|b cone|random")
	}
	if out, err := p2pLabScript("nat", args[0], args[1], args[2]); err != nil {
		ts.Fatalf("p2plab.sh nat: %v\n%s", err, out)
	}
}

// cmdP2PCode waits for a --code-file and sets VAR to the code in it and
// VAR_WRONG to a valid code for the same nameplate with other words.
//
//	p2pcode VAR FILE
func cmdP2PCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: p2pcode VAR FILE")
	}
	s := strings.TrimSpace(waitFor(ts, args[1]))
	code, err := p2p.ParseCode(s)
	ts.Check(err)
	for {
		wrong, err := p2p.NewCode(code.Nameplate)
		ts.Check(err)
		if wrong.String() != code.String() {
			ts.Setenv(args[0]+"_WRONG", wrong.String())
			break
		}
	}
	ts.Setenv(args[0], s)
}
