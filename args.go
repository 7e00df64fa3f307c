package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// normalizeArgs rewrites argv so urfave/cli sees every flag before the
// positional arguments, as netcat users type them: options may follow the
// positionals (`sockcat host 80 -v`), short flags bundle (`-lvnp 4444`,
// `-p4444`), and `--` ends the options. A command name ("resolve") as the
// first positional starts that command's own flag set.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	out := []string{args[0]}
	flags, pos, cmd, rest := splitArgs(app.Flags, args[1:], commandNames(app))
	out = append(out, flags...)
	if cmd != nil {
		out = append(out, cmd.Name)
		cflags, cpos, _, _ := splitArgs(cmd.Flags, rest, nil)
		out = append(out, cflags...)
		return appendPositionals(out, cpos)
	}
	return appendPositionals(out, pos)
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

// splitArgs separates flags (with their values) from positionals. When the
// first positional is a command name, it stops and returns the command and
// the arguments after it.
func splitArgs(defs []cli.Flag, args []string, cmds map[string]*cli.Command) (flags, pos []string, cmd *cli.Command, rest []string) {
	takesVal := map[string]bool{}
	for _, f := range defs {
		v := takesValue(f)
		for _, n := range f.Names() {
			takesVal[n] = v
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return flags, append(pos, args[i+1:]...), nil, nil
		case strings.HasPrefix(a, "--"):
			flags = append(flags, a)
			name := strings.TrimPrefix(a, "--")
			if !strings.Contains(name, "=") && takesVal[name] && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			name := a[1:]
			if len(name) > 1 && !strings.Contains(name, "=") {
				if _, known := takesVal[name]; known { // a long name given with one dash
					flags = append(flags, "--"+name)
					if takesVal[name] && i+1 < len(args) {
						i++
						flags = append(flags, args[i])
					}
					continue
				}
			}
			if strings.Contains(name, "=") { // -p=4444
				flags = append(flags, a)
				continue
			}
			// A bundle of short flags: -lvnp 4444, -p4444, -lu9090 is not split.
			for j, r := range name {
				f := string(r)
				flags = append(flags, "-"+f)
				if takesVal[f] {
					if rest := name[j+len(f):]; rest != "" {
						flags = append(flags, rest)
					} else if i+1 < len(args) {
						i++
						flags = append(flags, args[i])
					}
					break
				}
			}
		default:
			if len(pos) == 0 && cmds != nil {
				if c, ok := cmds[a]; ok {
					return flags, nil, c, args[i+1:]
				}
			}
			pos = append(pos, a)
		}
	}
	return flags, pos, nil, nil
}
