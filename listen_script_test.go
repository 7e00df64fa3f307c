package main

import (
	"bytes"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands for the listen_keepopen*, broker_*, exec_*, listen_filter*,
// unix_* and udp_multicast* scripts.
func init() {
	scriptCmds["vethpair"] = cmdVethPair
	scriptCmds["waitsock"] = cmdWaitSock
}

// The addresses vethpair gives the two ends. 198.18.0.0/15 is set aside for
// network benchmark tests (RFC 2544) and 2001:db8::/32 for documentation
// (RFC 3849); the link exists only between two private namespaces.
const (
	vethAddrA  = "198.18.0.1"
	vethAddrB  = "198.18.0.2"
	vethBcast  = "198.18.0.255"
	vethAddr6A = "2001:db8::1"
	vethAddr6B = "2001:db8::2"
)

// cmdVethPair joins two network namespaces (made by netns) with a veth
// link: interface scA in NS1 with 198.18.0.1/24 and 2001:db8::1/64, scB in
// NS2 with .2 and ::2, both up, with default routes over the link so that
// multicast and broadcast leave through it. It sets $VETH_A, $VETH_B (the
// IPv4 addresses), $VETH_A6, $VETH_B6 and $VETH_BCAST.
//
//	vethpair NS1 NS2
func cmdVethPair(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: vethpair NS1 NS2")
	}
	a, b := args[0], args[1]
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			ts.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("-n", a, "link", "add", "scA", "type", "veth", "peer", "name", "scB", "netns", b)
	for _, end := range []struct{ ns, dev, v4, v6 string }{
		{a, "scA", vethAddrA, vethAddr6A},
		{b, "scB", vethAddrB, vethAddr6B},
	} {
		run("-n", end.ns, "addr", "add", end.v4+"/24", "brd", "+", "dev", end.dev)
		run("-n", end.ns, "addr", "add", end.v6+"/64", "dev", end.dev, "nodad")
		run("-n", end.ns, "link", "set", end.dev, "up")
		run("-n", end.ns, "route", "add", "default", "dev", end.dev)
		run("-n", end.ns, "-6", "route", "add", "default", "dev", end.dev)
	}
	ts.Setenv("VETH_A", vethAddrA)
	ts.Setenv("VETH_B", vethAddrB)
	ts.Setenv("VETH_A6", vethAddr6A)
	ts.Setenv("VETH_B6", vethAddr6B)
	ts.Setenv("VETH_BCAST", vethBcast)
}

// cmdWaitSock waits until PATH exists and is a socket (a peer such as socat
// has bound it), for at most waitTimeout.
//
//	waitsock PATH
func cmdWaitSock(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitsock PATH")
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		fi, err := os.Lstat(ts.MkAbs(args[0]))
		if err == nil && fi.Mode().Type() == fs.ModeSocket {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitsock %s: no socket after %v", args[0], waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestListenModesExitCodes: the exit status of the listen-side modes'
// errors, which scripts cannot check (! exec only says "not 0").
func TestListenModesExitCodes(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules")
	os.WriteFile(rules, []byte("10.0.0.0/8\nbad rule here\n"), 0o600)
	notsock := filepath.Join(dir, "file")
	os.WriteFile(notsock, nil, 0o600)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"allow file missing", []string{"-l", "--allow-file", filepath.Join(dir, "nosuch"), "0"}, exitUsage, "--allow-file: open "},
		{"deny file bad line", []string{"-l", "--deny-file", rules, "0"}, exitUsage, rules + ":2: invalid rule"},
		{"bad allow", []string{"-l", "--allow", "10.0.0.0/33", "0"}, exitUsage, `invalid rule "10.0.0.0/33"`},
		{"allow with -U", []string{"-l", "-U", "--allow", "::1", filepath.Join(dir, "s")}, exitUsage, "cannot be combined with -U"},
		{"exec quote", []string{"-l", "-e", `cat "x`, "0"}, exitUsage, "unterminated double quote"},
		{"exec missing", []string{"-l", "-e", "no-such-program-sockcat", "0"}, exitUsage, "no-such-program-sockcat: executable file not found"},
		{"exec with -U -u", []string{"-l", "-U", "-u", "-e", "cat", filepath.Join(dir, "g")}, exitUsage, "not -U -u"},
		{"exec with a view", []string{"-l", "-e", "cat", "--encoding", "hex", "0"}, exitUsage, "cannot be combined with --exec/--sh-exec"},
		{"exec with -C", []string{"-l", "-c", "cat", "-C", "0"}, exitUsage, "cannot be combined with --exec/--sh-exec"},
		{"join not multicast", []string{"-l", "-u", "--join", "192.0.2.1", "0"}, exitUsage, "want a multicast address"},
		{"unix path not a socket", []string{"-l", "-U", notsock}, exitFailure, "not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(append([]string{"sockcat"}, tt.args...), strings.NewReader(""), &out, &errb)
			if code != tt.code || out.Len() != 0 || !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("sockcat %s: exit %d, stdout %q, stderr %q; want exit %d and stderr containing %q",
					strings.Join(tt.args, " "), code, out.String(), errb.String(), tt.code, tt.stderr)
			}
		})
	}
}

// TestExecExitCode: without -k, a child that exits non-zero makes sockcat
// exit 1 with one line naming the status; a child that exits 0, exit 0.
func TestExecExitCode(t *testing.T) {
	for _, tt := range []struct {
		cmd    string
		code   int
		stderr string
	}{
		{"exit 3", exitFailure, "sockcat: sh -c: exit status 3\n"},
		{"echo ok", exitOK, ""},
	} {
		t.Run(tt.cmd, func(t *testing.T) {
			addrFile := filepath.Join(t.TempDir(), "addr")
			var out, errb bytes.Buffer
			code := make(chan int, 1)
			go func() {
				code <- run([]string{"sockcat", "-l", "--addr-file", addrFile, "127.0.0.1", "0", "-c", tt.cmd},
					strings.NewReader(""), &out, &errb)
			}()
			var addr []byte
			for deadline := time.Now().Add(waitTimeout); len(addr) == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("no address written")
				}
				addr, _ = os.ReadFile(addrFile)
			}
			c, err := net.Dial("tcp", strings.TrimSpace(string(addr)))
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(c)
			c.Close()
			select {
			case got := <-code:
				if got != tt.code || errb.String() != tt.stderr {
					t.Errorf("exit %d, stderr %q; want %d, %q", got, errb.String(), tt.code, tt.stderr)
				}
			case <-time.After(waitTimeout):
				t.Fatal("sockcat did not exit")
			}
		})
	}
}
