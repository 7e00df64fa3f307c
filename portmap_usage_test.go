package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestMapPortUsage: --map-port misuse is one line and exit 2.
func TestMapPortUsage(t *testing.T) {
	for _, tt := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--map-port", "127.0.0.1", "9"}, "sockcat: --map-port needs -l: it forwards the router's port to a listener\n"},
		{[]string{"-l", "-U", "--map-port", "sock"}, "sockcat: --map-port cannot be combined with -U: a Unix socket has no port to forward\n"},
		{[]string{"-l", "--map-port", "--map-lease", "soon", "0"}, "sockcat: --map-lease: "},
		{[]string{"-l", "--map-port", "--map-lease", "0", "0"}, "sockcat: --map-lease: invalid duration \"0\" (want a positive duration such as 10m)\n"},
		{[]string{"-l", "--map-port", "--map-lease", "200ms", "0"}, "sockcat: --map-lease: invalid duration 200ms (want 1s to 168h)\n"},
		{[]string{"-l", "--map-file", "out", "0"}, "sockcat: --map-file and --map-lease need --map-port\n"},
		{[]string{"-l", "--stun", "127.0.0.1:3478", "0"}, "sockcat: --stun needs --map-port or --p2p (or use it with resolve)\n"},
		{[]string{"-l", "--map-port", "--stun", "none,127.0.0.1:3478", "0"}, "sockcat: --stun: "},
	} {
		t.Setenv("SOCKCAT_MAP_METHODS", "")
		var out, errb bytes.Buffer
		code := run(append([]string{"sockcat"}, tt.args...), strings.NewReader(""), &out, &errb)
		if code != exitUsage || out.Len() != 0 || !strings.HasPrefix(errb.String(), tt.stderr) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("sockcat %s: exit %d, stderr %q; want exit 2 and one line starting %q", strings.Join(tt.args, " "), code, errb.String(), tt.stderr)
		}
	}
}

func TestMapMethodsEnv(t *testing.T) {
	t.Setenv("SOCKCAT_MAP_METHODS", "upnp, gopher")
	var out, errb bytes.Buffer
	code := run([]string{"sockcat", "-l", "--map-port", "0"}, strings.NewReader(""), &out, &errb)
	if want := "sockcat: SOCKCAT_MAP_METHODS: unknown method \"gopher\" (want a comma list of natpmp, pcp, upnp)\n"; code != exitUsage || errb.String() != want {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, errb.String(), want)
	}
	got, err := mapMethods(" NAT-PMP,pcp ,UPnP")
	if err != nil || strings.Join(got, ",") != "NAT-PMP,PCP,UPnP" {
		t.Errorf("mapMethods: %v, %v", got, err)
	}
}
