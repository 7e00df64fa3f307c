package main

import (
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["netns"] = cmdNetns
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
