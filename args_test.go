package main

import (
	"errors"
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
	{"-p=4444 -l", "-p=4444 -l"},
	{"--verbose=true host 80", "--verbose=true host 80"},
	{"-wait=5 host 80", "--wait=5 host 80"},
	{"host 80 -x -", "-x - host 80"},
	{"resolve -h", "resolve -h"},
	{"-h", "-h"},
	{"[::1] 80", "[::1] 80"},
}

// normalizeErrTests are argv mistakes found before urfave/cli runs: each
// is one message naming the flag as typed.
var normalizeErrTests = []struct {
	in, want string
}{
	{"127.0.0.1 80 -q", "-q needs a value: -q DUR"},
	{"127.0.0.1 80 --hexdump", "--hexdump needs a value: --hexdump FILE"},
	{"127.0.0.1 80 -x", "-x needs a value: -x FILE"},
	{"127.0.0.1 80 -o", "-o needs a value: -o FILE"},
	{"127.0.0.1 80 --encoding", "--encoding needs a value: --encoding NAME"},
	{"-l 4444 -p", "-p needs a value: -p PORT"},
	{"-lvp", "-p needs a value: -p PORT"},
	{"resolve --timeout", "--timeout needs a value: --timeout DUR"},
	{"-00-", "unknown flag -0 (in -00-)"},
	{"-zv- 127.0.0.1 9", `"-zv-": a short-flag bundle cannot hold "-" (write -- on its own to end the options)`},
	{"-z-v 127.0.0.1 9", `"-z-v": a short-flag bundle cannot hold "-" (write -- on its own to end the options)`},
	{"--listne 4444", "unknown flag --listne; did you mean --listen?"},
	{"--verbos host 80", "unknown flag --verbos; did you mean --verbose?"},
	{"--bogus host 80", "unknown flag --bogus"},
	{"-Q host 80", "unknown flag -Q"},
	{"-lQ 80", "unknown flag -Q (in -lQ)"},
	{"-Q=1 80", "unknown flag -Q=1"},
	{"resolve --jsno", "unknown flag --jsno; did you mean --json?"},
	{"--listen=4444", "--listen takes no value (got --listen=4444); did you mean --listen 4444?"},
	{"-l=4444", "-l takes no value (got -l=4444); did you mean -l 4444?"},
	{"-h foo", `--help takes no argument (got "foo"); try: sockcat --help, or sockcat resolve --help`},
	{"resolve --help foo", `--help takes no argument (got "foo"); try: sockcat resolve --help`},
}

func TestNormalizeArgs(t *testing.T) {
	app := testApp()
	for _, tt := range normalizeTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalizeArgs(app, append([]string{"sockcat"}, fields(tt.in)...))
			if err != nil {
				t.Fatalf("normalizeArgs(%q): %v", tt.in, err)
			}
			got = got[1:]
			if diff := cmp.Diff(fields(tt.want), got); diff != "" {
				t.Errorf("normalizeArgs(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestNormalizeArgsErrors(t *testing.T) {
	app := testApp()
	for _, tt := range normalizeErrTests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := normalizeArgs(app, append([]string{"sockcat"}, fields(tt.in)...))
			if err == nil {
				t.Fatalf("normalizeArgs(%q) = %q, want error %q", tt.in, got, tt.want)
			}
			if !errors.As(err, new(usageError)) {
				t.Errorf("normalizeArgs(%q) error %v is not a usage error", tt.in, err)
			}
			if err.Error() != tt.want {
				t.Errorf("normalizeArgs(%q) error:\n got  %s\n want %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"listne", "listen", 1}, {"kitten", "sitting", 3},
		{"ab", "ba", 1}, {"verbos", "verbose", 1}, {"abc", "abc", 0},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
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
	for _, tt := range normalizeErrTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := append([]string{"sockcat"}, strings.Fields(line)...)
		once, err := normalizeArgs(app, args)
		if err != nil {
			if !errors.As(err, new(usageError)) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("normalizeArgs(%q): %v: want a one-line usage error", args, err)
			}
			return
		}
		twice, err := normalizeArgs(app, once)
		if err != nil {
			t.Fatalf("normalizeArgs(%q) = %q, then: %v", args, once, err)
		}
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
			r := []byte(b.String()) // bytes: argv need not be UTF-8
			slices.Sort(r)
			return string(r)
		}
		if strip(args) != strip(once) {
			t.Fatalf("characters changed:\n in  %q\n out %q", args, once)
		}
	})
}
