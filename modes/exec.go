package modes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// -e/--exec and -c/--sh-exec (SPEC §5): each connection gets its own process,
// its stdin fed from the socket and its stdout sent to it, through pipes.
//
// The session follows the stream rules of SPEC §3 from the child's side:
// when the client half-closes, the child's stdin reaches EOF and whatever the
// child writes afterwards is still delivered; when the child's stdout ends
// (it exited, or closed it), the client gets FIN. After that sockcat waits up
// to execLinger for the client to close, so it is never reset while reading
// the answer.
//
// Exit status without -k: 0 when the child exited 0 and its whole output was
// handed to the kernel for the client; 1 when the child exited non-zero or
// was killed by a signal (the message names the status), or when its output
// could not be delivered; 130 when sockcat was interrupted (the child then
// gets SIGTERM, and SIGKILL after execKillGrace). With -k each child's
// status is logged with -v and the server keeps running.

const (
	// execLinger is how long a finished session waits for the client to close
	// after FIN, so unread client bytes do not turn the close into a reset.
	execLinger = 5 * time.Second
	// execKillGrace is how long an interrupted child has between SIGTERM and
	// SIGKILL.
	execKillGrace = 2 * time.Second
)

// execExitError reports a -e/-c child that did not exit 0.
type execExitError struct {
	Prog   string // the program, as the user wrote it
	Status int    // exit status, or -1 when killed by a signal
	Signal os.Signal
}

func (e *execExitError) Error() string {
	if e.Status < 0 {
		return fmt.Sprintf("%s: killed by signal %s", e.Prog, signalName(e.Signal))
	}
	return fmt.Sprintf("%s: exit status %d", e.Prog, e.Status)
}

// child is a started -e/-c program and the pipes to it.
type child struct {
	cmd  *exec.Cmd
	prog string
	in   *os.File // its stdin, written by sockcat
	out  *os.File // its stdout, read by sockcat
}

// startChild starts -e/-c for conn, with the SOCKCAT_* variables.
func startChild(cfg *Config, conn net.Conn, stdio Stdio) (*child, error) {
	cmd, prog, err := execCommand(cfg)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(os.Environ(), execEnv(conn)...)
	setProcessGroup(cmd) // so an interrupt reaches the whole tree
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("exec %s: %w", prog, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("exec %s: %w", prog, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, stdio.Err
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("exec %s: %w", prog, reason(err))
	}
	return &child{cmd: cmd, prog: prog, in: inW, out: outR}, nil
}

// execConn runs -e/-c with conn as the program's stdin and stdout, and
// returns once the program has exited and the session is over.
func execConn(ctx context.Context, cfg *Config, conn net.Conn, stdio Stdio) (ioutil.Stats, error) {
	ch, err := startChild(cfg, conn, stdio)
	if err != nil {
		return ioutil.Stats{}, err
	}
	logf(cfg, stdio, "started %s (pid %d) for %s", ch.prog, ch.cmd.Process.Pid, peerName(conn))
	exited := make(chan struct{})
	interrupted := context.AfterFunc(ctx, func() { ch.interrupt(conn, exited) })
	defer interrupted()

	var wg sync.WaitGroup
	var up, down halfResult
	wg.Add(2)
	go toChild(&wg, &up, conn, ch.in, cfg.Net.Buffer())
	go fromChild(&wg, &down, conn, ch.out, cfg.Stream.NoShutdown, cfg.Net.Buffer())

	waitErr := ch.cmd.Wait()
	close(exited)
	// The child is gone; its stdout may still be held by a process it
	// started, which then owns the session. Once that ends too, give the
	// client execLinger to close its side.
	lingerDone := make(chan struct{})
	var lwg sync.WaitGroup
	lwg.Add(1)
	go linger(&lwg, conn, lingerDone)
	wg.Wait()
	close(lingerDone)
	lwg.Wait()

	st := ioutil.Stats{Sent: down.n, Received: up.n, SendDone: down.err == nil}
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	if err := exitError(ch.prog, waitErr); err != nil {
		return st, err
	}
	if down.err != nil {
		return st, describe("send to", peerName(conn), down.err)
	}
	return st, nil
}

// interrupt ends an interrupted session: I/O stops, the child's group gets
// SIGTERM, and SIGKILL after execKillGrace unless it exited.
func (ch *child) interrupt(conn net.Conn, exited <-chan struct{}) {
	conn.SetDeadline(ioutil.ALongTimeAgo)
	ch.in.SetDeadline(ioutil.ALongTimeAgo)
	ch.out.SetDeadline(ioutil.ALongTimeAgo)
	signalGroup(ch.cmd.Process.Pid, sigTERM)
	t := time.NewTimer(execKillGrace)
	defer t.Stop()
	select {
	case <-t.C:
		signalGroup(ch.cmd.Process.Pid, sigKILL)
	case <-exited:
	}
}

// linger gives the client execLinger to close its side once the child has
// exited, then ends the read from it.
func linger(wg *sync.WaitGroup, conn net.Conn, done <-chan struct{}) {
	defer wg.Done()
	t := time.NewTimer(execLinger)
	defer t.Stop()
	select {
	case <-t.C:
		conn.SetReadDeadline(ioutil.ALongTimeAgo)
	case <-done:
	}
}

// exitError is the error of a child that did not exit 0.
func exitError(prog string, waitErr error) error {
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		if sig, ok := exitSignal(ee); ok {
			return &execExitError{Prog: prog, Status: -1, Signal: sig}
		}
		return &execExitError{Prog: prog, Status: ee.ExitCode()}
	}
	if waitErr != nil {
		return fmt.Errorf("exec %s: %w", prog, waitErr)
	}
	return nil
}

// toChild copies the client's bytes into the child's stdin and closes it at
// the client's EOF. If the child stops reading, the rest of the client's
// bytes are read and dropped, so the client is not reset while the child is
// still answering.
func toChild(wg *sync.WaitGroup, res *halfResult, conn net.Conn, w *os.File, size int) {
	defer wg.Done()
	n, err := io.CopyBuffer(w, conn, make([]byte, size))
	w.Close()
	if err != nil && isEPIPE(err) {
		io.Copy(io.Discard, conn)
	}
	*res = halfResult{n, err}
}

// fromChild copies the child's stdout to the client and half-closes the
// connection at its end. Its error is what kept output from the client.
func fromChild(wg *sync.WaitGroup, res *halfResult, conn net.Conn, r *os.File, noShutdown bool, size int) {
	defer wg.Done()
	n, err := io.CopyBuffer(conn, r, make([]byte, size))
	r.Close() // a child still writing now gets EPIPE
	if err != nil {
		*res = halfResult{n, &ioutil.SendError{Sent: n, Err: err}}
		return
	}
	if !noShutdown {
		ioutil.CloseWrite(conn)
	}
	*res = halfResult{n, nil}
}

// execCommand builds the command of -e (split into words, nothing expanded)
// or -c (/bin/sh -c CMD), and the name used in messages.
func execCommand(cfg *Config) (*exec.Cmd, string, error) {
	if cfg.Serve.ShExec != "" {
		return shellCommand(cfg.Serve.ShExec), shellName, nil
	}
	words, err := splitWords(cfg.Serve.Exec)
	if err != nil {
		return nil, "", fmt.Errorf("--exec: %w", err)
	}
	if len(words) == 0 {
		return nil, "", errors.New("--exec: empty command")
	}
	cmd := exec.Command(words[0], words[1:]...)
	if cmd.Err != nil {
		return nil, words[0], fmt.Errorf("exec %s: %w", words[0], cmd.Err)
	}
	return cmd, words[0], nil
}

// checkExec validates -e before any socket exists: the words must split and
// the program must be found.
func checkExec(s ServeOptions) error {
	if s.Exec == "" {
		return nil
	}
	words, err := splitWords(s.Exec)
	if err != nil {
		return fmt.Errorf("--exec %q: %w", s.Exec, err)
	}
	if len(words) == 0 {
		return errors.New("--exec: empty command")
	}
	if _, err := exec.LookPath(words[0]); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		return fmt.Errorf("--exec: %s: %w", words[0], reason(err))
	}
	return nil
}

// execEnv describes the connection to the child (SPEC §5).
func execEnv(conn net.Conn) []string {
	proto := "tcp"
	host := func(a net.Addr) (string, string) {
		switch a := a.(type) {
		case *net.TCPAddr:
			ap := unmapAP(a.AddrPort())
			ip := ap.Addr().String()
			return ip, strconv.Itoa(int(ap.Port()))
		case *net.UDPAddr:
			proto = "udp"
			ap := unmapAP(a.AddrPort())
			return ap.Addr().String(), strconv.Itoa(int(ap.Port()))
		case *net.UnixAddr:
			proto = "unix"
			return a.Name, ""
		case nil:
			return "", ""
		}
		return a.String(), ""
	}
	ra, rp := host(conn.RemoteAddr())
	la, lp := host(conn.LocalAddr())
	return []string{
		"SOCKCAT_REMOTE_ADDR=" + ra,
		"SOCKCAT_REMOTE_PORT=" + rp,
		"SOCKCAT_LOCAL_ADDR=" + la,
		"SOCKCAT_LOCAL_PORT=" + lp,
		"SOCKCAT_PROTO=" + proto,
	}
}

// splitWords splits s into words as a POSIX shell would, without expanding
// anything: blanks separate words; '…' keeps everything literally; "…" keeps
// everything but \" \\ \$ \` and backslash-newline; a backslash outside
// quotes keeps the next character. $VAR, globs, ~, |, > and ; are ordinary
// characters: -e runs no shell (use -c for that).
func splitWords(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word (even an empty one: "")
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '\\':
			if i+1 >= len(s) {
				return nil, errors.New("trailing backslash")
			}
			i++
			if s[i] != '\n' { // backslash-newline joins lines
				cur.WriteByte(s[i])
				in = true
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == '"':
			in = true
			closed := false
			for i++; i < len(s); i++ {
				c := s[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' && i+1 < len(s) {
					switch s[i+1] {
					case '"', '\\', '$', '`':
						i++
						cur.WriteByte(s[i])
						continue
					case '\n':
						i++
						continue
					}
				}
				cur.WriteByte(c)
			}
			if !closed {
				return nil, errors.New("unterminated double quote")
			}
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
