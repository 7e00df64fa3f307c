// Command sockcat pipes standard input and output to TCP, UDP and Unix
// sockets, in connect or listen mode, and scans ports and explains local and
// public addresses. See README.md for usage.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/sockcat/sockcat/modes"
)

const (
	exitOK          = 0   // success
	exitFailure     = 1   // runtime failure; -z found no open port
	exitUsage       = 2   // bad flags or arguments, found before any socket exists
	exitInterrupted = 130 // SIGINT/SIGTERM (128 + SIGINT, as shells report it)
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

func main() { os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr)) }

// run is main without the process: tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Catch SIGPIPE so a write to a closed stdout returns EPIPE (handled as a
	// quiet end) instead of killing the process; a caught signal, unlike an
	// ignored one, is reset to the default in programs started by -e/-c.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	app := newApp(modes.Stdio{In: stdin, Out: stdout, Err: stderr}, ttyOf(stdin), ttyOf(stderr))
	if n := len(args); n >= 2 && args[n-1] == "--generate-bash-completion" {
		complete(app, args[1:n-1], stdout)
		return exitOK
	}
	argv, err := normalizeArgs(app, args)
	if err == nil {
		err = app.RunContext(ctx, argv)
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted // the user asked for it; -v already printed the summary
	case errors.Is(err, errQuietFailure):
		return exitFailure
	}
	fmt.Fprintf(stderr, "sockcat: %v\n", err)
	if errors.As(err, new(usageError)) {
		return exitUsage
	}
	return exitFailure
}

// errQuietFailure ends with exit status 1 and no message: the mode has said
// everything already (-z with no open port prints its results instead).
var errQuietFailure = modes.ErrNoOpenPorts

// usageError marks a mistake the user fixes by changing the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func ttyOf(f any) bool {
	if f, ok := f.(*os.File); ok {
		return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	return false
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
