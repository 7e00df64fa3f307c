package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestP2PUsageErrors: --p2p mistakes exit 2 with one line and touch no
// socket (no rendezvous in these cases answers anyway).
func TestP2PUsageErrors(t *testing.T) {
	t.Setenv("SOCKCAT_RENDEZVOUS", "")
	t.Setenv("SOCKCAT_RELAY", "")
	const rv = "--rendezvous sockcat://127.0.0.1:9 "
	tests := []struct {
		args string
		want string
	}{
		{"--p2p", `^sockcat: --p2p needs a rendezvous`},
		{rv + "--p2p 1-", `^sockcat: --p2p 1-: bad code`},
		{rv + "--p2p a b", `unexpected argument "b"`},
		{rv + "--p2p --relay turn://h:1", `^sockcat: --relay: `},
		{rv + "--p2p -l", `cannot be combined with --listen`},
		{rv + "--p2p -z", `cannot be combined with --scan`},
		{rv + "--p2p --tls", `cannot be combined with --tls`},
		{"--code-file f 127.0.0.1 80", `--code-file needs --p2p`},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := run(append([]string{"sockcat"}, strings.Fields(tc.args)...), strings.NewReader(""), &out, &errb)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tc.args, code, exitUsage, errb.String())
		}
		if !regexp.MustCompile(tc.want).MatchString(errb.String()) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%s: stderr %q, want one line matching %q", tc.args, errb.String(), tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%s: stdout %q", tc.args, out.String())
		}
	}
}
