package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["scanout"] = cmdScanOut
}

// cmdScanOut checks the -z lines of the last command's stdout or stderr:
// exactly one line per STATE:PORT[:REASON] argument, in port order, with
// the service name (which depends on the system's services database)
// allowed after the state. On stderr each line is a -v line ending in
// "(REASON)".
//
//	scanout stdout|stderr PROTO STATE:PORT[:REASON]...
func cmdScanOut(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || (args[0] != "stdout" && args[0] != "stderr") {
		ts.Fatalf("usage: scanout stdout|stderr PROTO STATE:PORT[:REASON]...")
	}
	stream, proto := args[0], args[1]
	type want struct {
		port          int
		state, reason string
	}
	var wants []want
	for _, a := range args[2:] {
		f := strings.SplitN(a, ":", 3)
		if len(f) < 2 {
			ts.Fatalf("scanout: %q: want STATE:PORT[:REASON]", a)
		}
		p, err := strconv.Atoi(f[1])
		if err != nil {
			ts.Fatalf("scanout: %q: bad port", a)
		}
		w := want{port: p, state: f[0]}
		if len(f) == 3 {
			w.reason = f[2]
		}
		wants = append(wants, w)
	}
	slices.SortFunc(wants, func(a, b want) int { return a.port - b.port })

	text := ts.ReadFile(stream)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if text == "" {
		lines = nil
	}
	if len(lines) != len(wants) {
		ts.Fatalf("scanout: %s has %d lines, want %d:\n%s", stream, len(lines), len(wants), text)
	}
	for i, w := range wants {
		pat := fmt.Sprintf(`^%d/%s %s( \S+)?`, w.port, regexp.QuoteMeta(proto), regexp.QuoteMeta(w.state))
		if stream == "stderr" {
			pat = "^sockcat: " + pat[1:] + ` \(` + regexp.QuoteMeta(w.reason) + `\)`
		}
		if !regexp.MustCompile(pat + "$").MatchString(lines[i]) {
			ts.Fatalf("scanout: %s line %d is %q, want a match for %q", stream, i+1, lines[i], pat+"$")
		}
	}
}
