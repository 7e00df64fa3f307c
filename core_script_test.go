package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["netns"] = cmdNetns
	scriptCmds["closedport"] = cmdClosedPort
	scriptConds["netns"] = func() (bool, error) {
		if os.Geteuid() != 0 {
			return false, nil
		}
		if _, err := exec.LookPath("ip"); err != nil {
			return false, nil
		}
		name := fmt.Sprintf("scprobe%d", os.Getpid())
		if err := exec.Command("ip", "netns", "add", name).Run(); err != nil {
			return false, nil
		}
		exec.Command("ip", "netns", "del", name).Run()
		return true, nil
	}
}

var netnsSeq atomic.Int64

// cmdNetns creates a private network namespace with only loopback up, sets
// VAR to its name, and deletes it when the script ends.
//
//	netns VAR
func cmdNetns(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: netns VAR")
	}
	name := fmt.Sprintf("sc%d-%d", os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		ts.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	ts.Defer(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		ts.Fatalf("ip -n %s link set lo up: %v\n%s", name, err, out)
	}
	ts.Setenv(args[0], name)
}

// cmdClosedPort sets VAR to a TCP port on 127.0.0.1 where connections are
// refused, and keeps it that way for the script's lifetime: the port is
// bound by a socket that never listens, so no other test's listener can be
// given it (a port that was merely closed can be reused at once).
//
//	closedport VAR
func cmdClosedPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: closedport VAR")
	}
	port, closeFn, err := reserveClosedPort()
	if err != nil {
		ts.Fatalf("closedport: %v", err)
	}
	ts.Defer(closeFn)
	ts.Setenv(args[0], strconv.Itoa(port))
}
