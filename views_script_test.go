package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands of the data views (encodings, statistics, digests).
func init() {
	scriptCmds["sha256"] = cmdSHA256
	scriptCmds["statsjson"] = cmdStatsJSON
	scriptCmds["tmuxscreen"] = cmdTmuxScreen
}

// cmdTmuxScreen runs a shell command in a fresh tmux server (its own
// socket in $WORK), waits for it to finish (at most waitTimeout) and writes
// what the terminal screen shows to FILE; the command's exit status goes
// to FILE.status. The tmux server is stopped by its PID.
//
//	tmuxscreen FILE 'SHELL COMMAND'
func cmdTmuxScreen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tmuxscreen FILE 'SHELL COMMAND'")
	}
	sock := ts.MkAbs("tmux.sock")
	status := ts.MkAbs(args[0] + ".status")
	tmux := func(a ...string) ([]byte, error) {
		cmd := exec.Command("tmux", append([]string{"-S", sock, "-f", "/dev/null"}, a...)...)
		cmd.Dir = ts.MkAbs(".")
		cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"), "TERM=xterm-256color")
		return cmd.CombinedOutput()
	}
	script := fmt.Sprintf("cd %q && { %s; }; echo $? > %q.tmp && mv %q.tmp %q; sleep 60", ts.MkAbs("."), args[1], status, status, status)
	if out, err := tmux("new-session", "-d", "-x", "150", "-y", "12", "sh", "-c", script); err != nil {
		ts.Fatalf("tmux new-session: %v: %s", err, out)
	}
	pidOut, err := tmux("display-message", "-p", "#{pid}")
	ts.Check(err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidOut)))
	ts.Check(err)
	defer func() {
		tmux("kill-server")
		if p, err := os.FindProcess(pid); err == nil {
			p.Kill()
		}
	}()
	deadline := time.Now().Add(waitTimeout)
	for {
		if b, err := os.ReadFile(status); err == nil && len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			screen, _ := tmux("capture-pane", "-p")
			ts.Fatalf("tmuxscreen: command not done after %v; screen:\n%s", waitTimeout, screen)
		}
		time.Sleep(20 * time.Millisecond)
	}
	screen, err := tmux("capture-pane", "-p")
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), screen, 0o644))
	ts.Logf("screen:\n%s", screen)
}

// cmdSHA256 sets VAR to the hex SHA-256 of FILE.
//
//	sha256 FILE VAR
func cmdSHA256(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sha256 FILE VAR")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	sum := sha256.Sum256(b)
	ts.Setenv(args[1], hex.EncodeToString(sum[:]))
}

// statsFields are the keys every --stats-json object has.
var statsFields = []string{
	"schema", "protocol", "local", "remote", "bytes_sent", "bytes_received",
	"duration_seconds", "send_bytes_per_second", "receive_bytes_per_second",
	"send_complete", "exit", "error", "sha256_sent", "sha256_received",
}

// cmdStatsJSON checks that FILE has exactly one line that is a JSON
// object (the --stats-json output; the final error line of a failed run
// follows it), that it has every field with every field, and that each KEY has the JSON VALUE given
// (KEY=VALUE), or is not null (KEY!=null).
//
//	statsjson FILE [KEY=VALUE | KEY!=null]...
func cmdStatsJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: statsjson FILE [KEY=VALUE | KEY!=null]...")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	var last string
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "{") {
			last = l
			n++
		}
	}
	if n != 1 {
		ts.Fatalf("statsjson: %d JSON lines in %s, want 1", n, args[0])
	}
	dec := json.NewDecoder(strings.NewReader(last))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		ts.Fatalf("statsjson: last line %q: %v", last, err)
	}
	if dec.More() {
		ts.Fatalf("statsjson: more than one JSON value on the last line %q", last)
	}
	for _, k := range statsFields {
		if _, ok := obj[k]; !ok {
			ts.Fatalf("statsjson: field %q missing from %s", k, last)
		}
	}
	if obj["schema"] != "sockcat.stats/v1" {
		ts.Fatalf("statsjson: schema %v", obj["schema"])
	}
	for _, a := range args[1:] {
		if k, ok := strings.CutSuffix(a, "!=null"); ok {
			if obj[k] == nil {
				ts.Fatalf("statsjson: %s is null in %s", k, last)
			}
			continue
		}
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("statsjson: bad check %q", a)
		}
		d := json.NewDecoder(bytes.NewReader([]byte(v)))
		d.UseNumber()
		var want any
		if err := d.Decode(&want); err != nil {
			ts.Fatalf("statsjson: value of %s: %v", k, err)
		}
		if diff := cmp.Diff(want, obj[k]); diff != "" {
			ts.Fatalf("statsjson: %s mismatch (-want +got):\n%s", k, diff)
		}
	}
}
