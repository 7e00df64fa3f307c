package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// helpWidth is the terminal width --help fits (SPEC §12).
const helpWidth = 80

// synopsis is the usage block of --help and the man page's SYNOPSIS.
var synopsis = [][2]string{
	{"sockcat [options] HOST PORT", "connect"},
	{"sockcat -l [options] [HOST] PORT", "listen (also: -l -p PORT)"},
	{"sockcat -z [options] HOST PORTSPEC", "scan ports"},
	{"sockcat -U [options] PATH", "Unix socket (-l -U PATH: listen)"},
	{"sockcat resolve [options] [NAME[:PORT] ...]", "addresses and name lookup"},
}

// exitStatus is the EXIT STATUS of --help and the man page (SPEC §2).
var exitStatus = [][2]string{
	{"0", "success: the connection ended normally and all input was sent; -z: a port is open"},
	{"1", "runtime failure: refused, timeout, reset, DNS, TLS, I/O, unsent input; -z: no open port"},
	{"2", "usage error: a bad flag, value or argument; nothing was opened"},
	{"130", "interrupted by SIGINT or SIGTERM"},
}

// environment is the ENVIRONMENT section of the man page.
var environment = [][2]string{
	{"SOCKCAT_REMOTE_ADDR, SOCKCAT_REMOTE_PORT, SOCKCAT_LOCAL_ADDR, SOCKCAT_LOCAL_PORT, SOCKCAT_PROTO",
		"set for the program of -e and -c: the connection's addresses and tcp, udp or unix"},
	{"SOCKCAT_STUN, SOCKCAT_DNS_WHOAMI, SOCKCAT_HTTP_ECHO",
		"resolve (and --map-port, --p2p for STUN): comma-separated server lists, as --stun, --dns-whoami and --http-echo"},
	{"SOCKCAT_RENDEZVOUS, SOCKCAT_RELAY", "--p2p: comma-separated rendezvous and TURN relay URLs, as --rendezvous and --relay"},
	{"SOCKCAT_MAP_METHODS", "--map-port: a comma list of natpmp, pcp, upnp: the methods tried"},
	{"SOCKCAT_NO_PORTMAP=1", "resolve: do not ask the gateway about port mapping, as --no-portmap"},
	{"SOCKCAT_NO_EXTERNAL=1", "empty every built-in server list (STUN, DNS whoami, HTTPS echo, rendezvous brokers), so nothing is sent to a server nobody named"},
}

// examples is the EXAMPLES section of the man page.
var examples = [][2]string{
	{"sockcat -l 4444 > file", "receive a file on port 4444"},
	{"sockcat host 4444 < file", "send it; exit 0 only when every byte was sent"},
	{"sockcat host 80 < /dev/null > page", "download: an empty stdin does not cut it short"},
	{"sockcat -zv host 20-25,80", "scan ports"},
	{"sockcat -lk -e 'cat -n' 7000", "serve every client with a program"},
	{"sockcat --tls -v example.org 443", "TLS, verified against the system roots"},
	{"sockcat -X socks5://127.0.0.1:1080 host 22", "through a SOCKS5 proxy"},
	{"sockcat -l --map-port 9090", "listen, and ask the router to forward its port"},
	{"sockcat --p2p < file", "send to a machine behind another NAT: it runs sockcat --p2p CODE"},
	{"sockcat resolve --short", "the public address, for $(...)"},
}

// ncatSpellings lists the hidden flags accepted for ncat users.
const ncatSpellings = "ncat spellings also accepted: --ssl-verify, --ssl-cert FILE, --ssl-key FILE,\n" +
	"--ssl-trustfile FILE (each implies --tls)."

// flagDoc is what help and the man page show of one flag.
type flagDoc struct {
	long, short []string // names without dashes
	arg         string   // value name (DUR, SIZE…); "" for a switch
	usage       string   // the usage text with the `NAME` quotes removed
	def         string   // default shown, "" for none
	category    string
	repeatable  bool
}

// docs reads the visible flags' documentation from their definitions.
func docs(flags []cli.Flag) []flagDoc {
	var out []flagDoc
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() || f.Names()[0] == "help" {
			continue // urfave/cli's own help flag is documented by hand
		}
		d, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		fd := flagDoc{usage: strings.ReplaceAll(d.GetUsage(), "`", "")}
		if d.TakesValue() {
			fd.arg = argName(d.GetUsage())
			if fd.arg == "" {
				fd.arg = "VALUE"
			}
			if sf, ok := f.(*cli.StringFlag); ok && sf.Value != "" {
				fd.def = sf.Value
			}
		}
		if c, ok := f.(cli.CategorizableFlag); ok {
			fd.category = c.GetCategory()
		}
		_, fd.repeatable = f.(cli.DocGenerationSliceFlag)
		for _, n := range f.Names() {
			if len(n) == 1 {
				fd.short = append(fd.short, n)
			} else {
				fd.long = append(fd.long, n)
			}
		}
		out = append(out, fd)
	}
	return out
}

// left is the flag column: "-s, --source ADDR".
func (d flagDoc) left() string {
	var names []string
	for _, n := range d.short {
		names = append(names, "-"+n)
	}
	for _, n := range d.long {
		names = append(names, "--"+n)
	}
	s := strings.Join(names, ", ")
	if len(d.short) == 0 {
		s = "    " + s // line the long names up under those with a short one
	}
	if d.arg != "" {
		s += " " + d.arg
	}
	return s
}

// text is the usage with the default added.
func (d flagDoc) text() string {
	if d.def != "" {
		return d.usage + " (default " + d.def + ")"
	}
	return d.usage
}

// wrap breaks s into lines of at most width runes at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case len([]rune(line))+1+len([]rune(w)) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}

// writeColumns prints "  LEFT  TEXT" rows, TEXT wrapped at helpWidth and
// starting in column col, or on the next line when LEFT is too wide.
func writeColumns(w io.Writer, rows [][2]string, col int) {
	for _, r := range rows {
		left := "  " + r[0]
		lines := wrap(r[1], helpWidth-col)
		if len([]rune(left))+2 > col {
			fmt.Fprintln(w, left)
		} else {
			fmt.Fprintf(w, "%-*s%s\n", col, left, lines[0])
			lines = lines[1:]
		}
		for _, l := range lines {
			fmt.Fprintf(w, "%*s%s\n", col, "", l)
		}
	}
}

// writeFlags prints the flags grouped by category, in definition order.
func writeFlags(w io.Writer, ds []flagDoc) {
	var cats []string
	byCat := map[string][][2]string{}
	for _, d := range ds {
		if _, ok := byCat[d.category]; !ok {
			cats = append(cats, d.category)
		}
		byCat[d.category] = append(byCat[d.category], [2]string{d.left(), d.text()})
	}
	for _, c := range cats {
		name := c
		if name == "" {
			name = "Options"
		}
		fmt.Fprintf(w, "\n%s:\n", name)
		writeColumns(w, byCat[c], 28)
	}
}

// writeAppHelp is sockcat --help.
func writeAppHelp(w io.Writer, app *cli.App) {
	fmt.Fprintf(w, "sockcat - %s\n\nUsage:\n", app.Usage)
	writeColumns(w, synopsis, 47)
	writeFlags(w, append(docs(app.Flags), helpDoc("General")))
	fmt.Fprintf(w, "\n%s\n\nExit status:\n", ncatSpellings)
	writeColumns(w, exitStatus, 8)
	fmt.Fprintln(w, "\nSee man sockcat (sockcat --man) for examples.")
}

// writeCommandHelp is sockcat resolve --help.
func writeCommandHelp(w io.Writer, cmd *cli.Command) {
	fmt.Fprintf(w, "sockcat %s - %s\n\nUsage:\n  sockcat %s [options] %s\n\n", cmd.Name, cmd.Usage, cmd.Name, cmd.ArgsUsage)
	for i, p := range strings.Split(cmd.Description, "\n\n") {
		if i > 0 {
			fmt.Fprintln(w)
		}
		for _, l := range wrap(p, helpWidth-2) {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	writeFlags(w, append(docs(cmd.Flags), helpDoc("")))
}

// helpDoc documents -h, --help, which urfave/cli adds.
func helpDoc(category string) flagDoc {
	return flagDoc{short: []string{"h"}, long: []string{"help"}, usage: "show this help", category: category}
}

// printHelp replaces urfave/cli's help templates, which print defaults
// such as "(default: false)" and lines wider than a terminal.
func printHelp(w io.Writer, _ string, data any) {
	switch d := data.(type) {
	case *cli.App:
		writeAppHelp(w, d)
	case *cli.Command:
		writeCommandHelp(w, d)
	}
}
