package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs rewrites argv so urfave/cli sees every flag before the
// positional arguments, as netcat users type them: options may follow the
// positionals (`sockcat host 80 -v`), short flags bundle (`-lvnp 4444`,
// `-p4444`), and `--` ends the options. A command name ("resolve") as the
// first positional starts that command's own flag set.
//
// It also finds every flag mistake before urfave/cli sees the line, so each
// gets one message naming the flag as typed (SPEC §12): an unknown flag
// (with the nearest real one), a value-taking flag with nothing after it
// (it never takes a positional), a value given to a switch, a "-" inside a
// short-flag bundle, and -h with arguments.
func normalizeArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) == 0 {
		return args, nil
	}
	out := []string{args[0]}
	s, err := splitArgs(app.Flags, args[1:], commandNames(app))
	if err != nil {
		return nil, err
	}
	out = append(out, s.flags...)
	if s.cmd != nil {
		out = append(out, s.cmd.Name)
		cs, err := splitArgs(s.cmd.Flags, s.rest, nil)
		if err != nil {
			return nil, err
		}
		if err := checkHelp(cs, s.cmd.Name); err != nil {
			return nil, err
		}
		out = append(out, cs.flags...)
		return appendPositionals(out, cs.pos), nil
	}
	if err := checkHelp(s, ""); err != nil {
		return nil, err
	}
	return appendPositionals(out, s.pos), nil
}

// checkHelp rejects -h with positional arguments: urfave/cli would read
// them as a help topic and fail with exit status 1.
func checkHelp(s split, cmd string) error {
	if !s.help || len(s.pos) == 0 {
		return nil
	}
	if cmd != "" {
		return usageError{fmt.Errorf("--help takes no argument (got %q); try: sockcat %s --help", s.pos[0], cmd)}
	}
	return usageError{fmt.Errorf("--help takes no argument (got %q); try: sockcat --help, or sockcat resolve --help", s.pos[0])}
}

func appendPositionals(out, pos []string) []string {
	for _, p := range pos {
		if strings.HasPrefix(p, "-") {
			out = append(out, "--")
			break
		}
	}
	return append(out, pos...)
}

func commandNames(app *cli.App) map[string]*cli.Command {
	m := map[string]*cli.Command{}
	for _, c := range app.Commands {
		m[c.Name] = c
		for _, a := range c.Aliases {
			m[a] = c
		}
	}
	return m
}

// split is argv cut into flags (with their values) and positionals; when
// the first positional is a command name, cmd is that command and rest the
// arguments after it.
type split struct {
	flags, pos []string
	cmd        *cli.Command
	rest       []string
	help       bool // -h or --help was given
}

// flagSet knows which names exist, which of them take a value and the
// name of that value (DUR, SIZE…), from the flag's usage text.
type flagSet map[string]flagInfo

type flagInfo struct {
	takes bool
	arg   string
}

func newFlagSet(defs []cli.Flag) flagSet {
	fs := flagSet{"help": {}, "h": {}} // urfave/cli adds the help flag itself
	for _, f := range defs {
		fi := flagInfo{takes: takesValue(f)}
		if d, ok := f.(cli.DocGenerationFlag); ok && fi.takes {
			fi.arg = argName(d.GetUsage())
		}
		for _, n := range f.Names() {
			fs[n] = fi
		}
	}
	return fs
}

// dashed writes a flag name as typed on a command line: -x or --name.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// missingValue is the error for a value-taking flag with nothing after it.
func missingValue(fs flagSet, typed, name string) error {
	if arg := fs[name].arg; arg != "" {
		return fmt.Errorf("%s needs a value: %s %s", typed, dashed(name), arg)
	}
	return fmt.Errorf("%s needs a value", typed)
}

// splitArgs separates flags (with their values) from positionals. When the
// first positional is a command name, it stops and returns the command and
// the arguments after it.
func splitArgs(defs []cli.Flag, args []string, cmds map[string]*cli.Command) (split, error) {
	fs := newFlagSet(defs)
	var s split
	for i := 0; i < len(args); i++ {
		a := args[i]
		var consumed int
		var err error
		switch {
		case a == "--":
			s.pos = append(s.pos, args[i+1:]...)
			return s, nil
		case strings.HasPrefix(a, "--"):
			consumed, err = s.long(fs, a, "--", args[i+1:])
		case strings.HasPrefix(a, "-") && len(a) > 1:
			consumed, err = s.short(fs, a, args[i+1:])
		default:
			if len(s.pos) == 0 && cmds != nil {
				if c, ok := cmds[a]; ok {
					s.cmd, s.rest = c, args[i+1:]
					return s, nil
				}
			}
			s.pos = append(s.pos, a)
		}
		if err != nil {
			return s, usageError{err}
		}
		i += consumed
	}
	return s, nil
}

// long takes a long flag written as typed ("--wait", "--wait=5", or a long
// name with one dash, "-keep-open") and, when it needs one, its value from
// next. It returns how many of next it used.
func (s *split) long(fs flagSet, typed, dashes string, next []string) (int, error) {
	name, val, hasVal := strings.Cut(strings.TrimPrefix(typed, dashes), "=")
	fi, known := fs[name]
	if !known {
		return 0, unknownFlag(fs, typed, name)
	}
	takes := fi.takes
	s.help = s.help || name == "help" || name == "h"
	switch {
	case hasVal && !takes:
		if _, err := strconv.ParseBool(val); err != nil {
			return 0, fmt.Errorf("%s takes no value (got %s); did you mean %s %s?", dashed(name), typed, dashed(name), val)
		}
		s.flags = append(s.flags, "--"+name+"="+val)
	case hasVal:
		s.flags = append(s.flags, "--"+name+"="+val)
	case takes && len(next) == 0:
		return 0, missingValue(fs, typed, name)
	case takes:
		s.flags = append(s.flags, "--"+name, next[0])
		return 1, nil
	default:
		s.flags = append(s.flags, "--"+name)
	}
	return 0, nil
}

// short takes "-x", "-x=V", a bundle of short flags ("-lvnp 4444",
// "-p4444") or a long name written with one dash ("-keep-open").
func (s *split) short(fs flagSet, a string, next []string) (int, error) {
	name := a[1:]
	if n, _, _ := strings.Cut(name, "="); len(n) > 1 {
		if _, known := fs[n]; known { // a long name given with one dash
			return s.long(fs, a, "-", next)
		}
	}
	if strings.Contains(name, "=") { // -p=4444
		n, val, _ := strings.Cut(name, "=")
		if len(n) != 1 {
			return 0, unknownFlag(fs, a, n)
		}
		if _, err := s.long(fs, "-"+n+"="+val, "-", nil); err != nil {
			return 0, err
		}
		s.flags[len(s.flags)-1] = a // keep it as typed: -p=4444
		return 0, nil
	}
	// A bundle of short flags: -lvnp 4444, -p4444; -lu9090 is not split.
	for j, r := range name {
		f := string(r)
		fi, known := fs[f]
		if !known || f == "-" {
			if f == "-" {
				return 0, fmt.Errorf("%q: a short-flag bundle cannot hold %q (write -- on its own to end the options)", a, "-")
			}
			if len(name) > 1 {
				return 0, fmt.Errorf("unknown flag -%s (in %s)%s", f, a, suggest(fs, name))
			}
			return 0, unknownFlag(fs, a, f)
		}
		s.help = s.help || f == "h"
		s.flags = append(s.flags, "-"+f)
		if fi.takes {
			if rest := name[j+len(f):]; rest != "" {
				s.flags = append(s.flags, rest)
				return 0, nil
			}
			if len(next) == 0 {
				return 0, missingValue(fs, "-"+f, f)
			}
			s.flags = append(s.flags, next[0])
			return 1, nil
		}
	}
	return 0, nil
}

func unknownFlag(fs flagSet, typed, name string) error {
	return fmt.Errorf("unknown flag %s%s", typed, suggest(fs, name))
}

// suggest returns "; did you mean --NAME?" for the long flag nearest to
// name, when one is close (an edit or two away, or name is its prefix).
func suggest(fs flagSet, name string) string {
	if len(name) < 2 {
		return ""
	}
	best, bestD := "", 3
	var names []string
	for n := range fs {
		names = append(names, n)
	}
	sort.Strings(names) // ties go to the first in alphabetical order
	for _, n := range names {
		if len(n) < 2 {
			continue
		}
		d := editDistance(strings.ToLower(name), n)
		if strings.HasPrefix(n, name) && len(name) >= 3 {
			d = 1
		}
		if d < bestD && d <= len(name)/2 {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean --" + best + "?"
}

// editDistance is the optimal-string-alignment distance: insertions,
// deletions, substitutions and transpositions of neighbours each cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// argName is the `NAME` quoted in a flag's usage text ("" when none).
func argName(usage string) string {
	_, rest, ok := strings.Cut(usage, "`")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, "`")
	if !ok {
		return ""
	}
	return name
}
