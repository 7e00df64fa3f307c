package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// roff escapes text for a man page: backslashes, dashes (so they copy as
// ASCII hyphens) and a leading dot or quote.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	var b strings.Builder
	for _, r := range s {
		if r > 127 {
			fmt.Fprintf(&b, `\[u%04X]`, r) // groff's named Unicode character
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// manFlag is the .TP tag of a flag: bold names, the value in italics.
func manFlag(d flagDoc) string {
	var names []string
	for _, n := range d.short {
		names = append(names, `\fB`+roff("-"+n)+`\fR`)
	}
	for _, n := range d.long {
		names = append(names, `\fB`+roff("--"+n)+`\fR`)
	}
	s := strings.Join(names, ", ")
	if d.arg != "" {
		s += ` \fI` + roff(d.arg) + `\fR`
	}
	return s
}

// writeManFlags prints the flags as .TP items under .SS categories.
func writeManFlags(w io.Writer, ds []flagDoc) {
	var cats []string
	byCat := map[string][]flagDoc{}
	for _, d := range ds {
		if _, ok := byCat[d.category]; !ok {
			cats = append(cats, d.category)
		}
		byCat[d.category] = append(byCat[d.category], d)
	}
	for _, c := range cats {
		if c != "" {
			fmt.Fprintf(w, ".SS %s\n", roff(c))
		}
		for _, d := range byCat[c] {
			text := d.text()
			if d.repeatable {
				text = strings.TrimSuffix(text, " (repeatable)") + " May be repeated."
			}
			fmt.Fprintf(w, ".TP\n%s\n%s\n", manFlag(d), roff(text))
		}
	}
}

// writeMan prints sockcat(1) from the same flag definitions as --help.
func writeMan(w io.Writer, app *cli.App) {
	fmt.Fprintf(w, ".TH SOCKCAT 1 \"\" \"sockcat %s\" \"User Commands\"\n", roff(versionString()))
	fmt.Fprintf(w, ".SH NAME\nsockcat \\- %s\n", roff(app.Usage))
	fmt.Fprintln(w, ".SH SYNOPSIS")
	for i, s := range synopsis {
		if i > 0 {
			fmt.Fprintln(w, ".br")
		}
		cmd, rest, _ := strings.Cut(s[0], " ")
		fmt.Fprintf(w, "\\fB%s\\fR %s\n", cmd, roff(rest))
	}
	fmt.Fprintln(w, ".SH DESCRIPTION")
	fmt.Fprintln(w, roff("sockcat pipes standard input and output to a TCP, UDP or Unix socket, "+
		"in connect or listen mode, the way nc and ncat do, and never hides a short transfer: "+
		"at stdin EOF it half-closes and keeps reading until the peer closes, and its exit status "+
		"says whether every input byte was sent. It also scans ports (-z) and explains which "+
		"address to bind and which address the internet sees (resolve)."))
	fmt.Fprintln(w, ".PP\n"+roff("Short flags bundle (-lvnp 4444) and options may follow the positional arguments. "+
		"SIZE accepts 1024, 64K, 1M; DUR accepts 250ms, 5s, 1m, and a bare number is seconds."))
	fmt.Fprintln(w, ".SH OPTIONS")
	writeManFlags(w, docs(app.Flags))
	fmt.Fprintf(w, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow a summary of the options\n")
	fmt.Fprintln(w, ".PP\n"+roff(strings.ReplaceAll(ncatSpellings, "\n", " ")))
	for _, c := range app.Commands {
		fmt.Fprintf(w, ".SH COMMAND: %s\n", strings.ToUpper(c.Name))
		fmt.Fprintf(w, "\\fBsockcat %s\\fR [options] %s\n.PP\n", c.Name, roff(c.ArgsUsage))
		for _, p := range strings.Split(c.Description, "\n\n") {
			fmt.Fprintf(w, "%s\n.PP\n", roff(strings.ReplaceAll(p, "\n", " ")))
		}
		writeManFlags(w, docs(c.Flags))
	}
	fmt.Fprintln(w, ".SH EXIT STATUS")
	for _, e := range exitStatus {
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", e[0], roff(e[1]))
	}
	fmt.Fprintln(w, ".SH ENVIRONMENT")
	for _, e := range environment {
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(e[0]), roff(e[1]))
	}
	fmt.Fprintln(w, ".SH EXAMPLES")
	for _, e := range examples {
		fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roff(e[0]), roff(e[1]))
	}
	fmt.Fprintln(w, ".SH SEE ALSO\n.BR nc (1),\n.BR ncat (1),\n.BR socat (1)")
}
