package main

import (
	"bytes"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHelpFits80Columns: --help and resolve --help fit an 80-column
// terminal, name each value (DUR, SIZE) and print no "(default: false)".
func TestHelpFits80Columns(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"resolve", "--help"}, {"resolve", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(append([]string{"sockcat"}, args...), strings.NewReader(""), &out, &errb); code != exitOK {
				t.Fatalf("exit = %d, stderr %q", code, errb.String())
			}
			for i, l := range strings.Split(out.String(), "\n") {
				if n := utf8.RuneCountInString(l); n > helpWidth {
					t.Errorf("line %d is %d columns wide: %q", i+1, n, l)
				}
			}
			for _, bad := range []string{"(default: false)", "(default: ", "VALUE"} {
				if strings.Contains(out.String(), bad) {
					t.Errorf("help shows %q", bad)
				}
			}
			want := `(?m)^  -q, --quit-after DUR +after stdin EOF`
			if args[0] == "resolve" {
				want = `(?m)^      --timeout DUR +public discovery deadline`
			}
			if !regexp.MustCompile(want).MatchString(out.String()) {
				t.Errorf("help lacks a line matching %q:\n%s", want, out.String())
			}
		})
	}
}

// TestManPage: --man is a man page a person reads: a short SYNOPSIS, the
// options with their value names, EXIT STATUS, ENVIRONMENT and EXAMPLES,
// all from the flag definitions.
func TestManPage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"sockcat", "--man"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("--man exit = %d, stderr %q", code, errb.String())
	}
	man := out.String()
	var sections []string
	for _, m := range regexp.MustCompile(`(?m)^\.SH (.*)$`).FindAllStringSubmatch(man, -1) {
		sections = append(sections, m[1])
	}
	want := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMAND: RESOLVE", "COMMAND: RENDEZVOUS", "EXIT STATUS", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"}
	if strings.Join(sections, "|") != strings.Join(want, "|") {
		t.Errorf("sections = %q, want %q", sections, want)
	}
	syn := man[strings.Index(man, ".SH SYNOPSIS"):strings.Index(man, ".SH DESCRIPTION")]
	if n := strings.Count(syn, "\n"); n > 12 {
		t.Errorf("SYNOPSIS has %d lines, want a short one:\n%s", n, syn)
	}
	for _, want := range []string{
		`\fB\-w\fR, \fB\-\-wait\fR \fIDUR\fR`,
		`\fB\-B\fR, \fB\-\-buffer\-size\fR \fISIZE\fR`,
		`\fB\-l\fR, \fB\-\-listen\fR` + "\n",
		`\fB\-\-proxy\-auth\fR \fIUSER:PASS\fR`,
		`\fB\-\-timeout\fR \fIDUR\fR`,
		".B 130\n",
		"SOCKCAT_NO_EXTERNAL",
		".B sockcat \\-l 4444 > file\n",
	} {
		if !strings.Contains(man, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(man, `=""`) || strings.Contains(man, "[value]") {
		t.Error(`man page shows urfave/cli's "=\"\"" or "[value]"`)
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff missing: the page is not rendered (scripts/test.sh installs groff)")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(man)
	if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("groff -man -ww: %v\n%s", err, b)
	}
}
