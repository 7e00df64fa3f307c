package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/modes"
	"github.com/urfave/cli/v2"
)

func testApp() *cli.App {
	return newApp(modes.Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, false, false)
}

var normalizeTests = []struct {
	in, want string
}{
	{"host 80", "host 80"},
	{"host 80 -v", "-v host 80"},
	{"-lvnp 4444", "-l -v -n -p 4444"},
	{"-lu 9090", "-l -u 9090"},
	{"-p4444 -l", "-p 4444 -l"},
	{"-zv host 20-25", "-z -v host 20-25"},
	{"host 80 -w 5 -q 1", "-w 5 -q 1 host 80"},
	{"--wait 5 host 80 --verbose", "--wait 5 --verbose host 80"},
	{"--wait=5 host 80", "--wait=5 host 80"},
	{"-l -- -5", "-l -- -5"},
	{"-- host 80", "host 80"},
	{"host -- -v", "-- host -v"},
	{"-x - host 80", "-x - host 80"},
	{"-keep-open -l 80", "--keep-open -l 80"},
	{"resolve -v --json name", "resolve -v --json name"},
	{"-v resolve name --json", "-v resolve --json name"},
	{"host resolve", "host resolve"},
	{"-e 'cat -n' -l 80", "-e 'cat -n' -l 80"},
}

func TestNormalizeArgs(t *testing.T) {
	app := testApp()
	for _, tt := range normalizeTests {
		t.Run(tt.in, func(t *testing.T) {
			got := normalizeArgs(app, append([]string{"sockcat"}, fields(tt.in)...))[1:]
			if diff := cmp.Diff(fields(tt.want), got); diff != "" {
				t.Errorf("normalizeArgs(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// fields splits on spaces, keeping 'single quoted' words together.
func fields(s string) []string {
	var out []string
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s[0] == '\'' {
			end := strings.IndexByte(s[1:], '\'') + 1
			out = append(out, s[1:end])
			s = s[end+1:]
			continue
		}
		w, rest, _ := strings.Cut(s, " ")
		out = append(out, w)
		s = rest
	}
	return out
}

func FuzzNormalizeArgs(f *testing.F) {
	for _, tt := range normalizeTests {
		f.Add(tt.in)
	}
	app := testApp()
	f.Fuzz(func(t *testing.T, line string) {
		args := append([]string{"sockcat"}, strings.Fields(line)...)
		once := normalizeArgs(app, args)
		twice := normalizeArgs(app, once)
		if !slices.Equal(once, twice) {
			t.Fatalf("not idempotent:\n in   %q\n once %q\n twice %q", args, once, twice)
		}
		if once[0] != "sockcat" {
			t.Fatalf("program name moved: %q", once)
		}
		// Nothing is lost: every input character is still there (bundles
		// only gain dashes, "--" may be added or dropped).
		strip := func(ss []string) string {
			var b strings.Builder
			for _, s := range ss {
				if s != "--" {
					b.WriteString(strings.ReplaceAll(s, "-", ""))
				}
			}
			r := []rune(b.String())
			slices.Sort(r)
			return string(r)
		}
		if strip(args) != strip(once) {
			t.Fatalf("characters changed:\n in  %q\n out %q", args, once)
		}
	})
}
