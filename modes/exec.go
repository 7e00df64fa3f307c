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
	"syscall"
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

// ExecExitError reports a -e/-c child that did not exit 0.
type ExecExitError struct {
	Prog   string // the program, as the user wrote it
	Status int    // exit status, or -1 when killed by a signal
	Signal syscall.Signal
}

func (e *ExecExitError) Error() string {
	if e.Status < 0 {
		return fmt.Sprintf("%s: killed by signal %d (%v)", e.Prog, int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("%s: exit status %d", e.Prog, e.Status)
}

// execConn runs -e/-c with conn as the program's stdin and stdout, and
// returns once the program has exited and the session is over.
func execConn(ctx context.Context, cfg *Config, conn net.Conn, stdio Stdio) error {
	cmd, prog, err := execCommand(cfg)
	if err != nil {
		return err
	}
	cmd.Env = append(os.Environ(), execEnv(conn)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so an interrupt reaches the whole tree
	inR, inW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("exec %s: %w", prog, err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return fmt.Errorf("exec %s: %w", prog, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, stdio.Err
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return fmt.Errorf("exec %s: %w", prog, reason(err))
	}
	logf(cfg, stdio, "started %s (pid %d) for %s", prog, cmd.Process.Pid, peerName(conn))

	exited := make(chan struct{})
	interrupted := context.AfterFunc(ctx, func() {
		conn.SetDeadline(aLongTimeAgo)
		inW.SetDeadline(aLongTimeAgo)
		outR.SetDeadline(aLongTimeAgo)
		signalGroup(cmd.Process.Pid, syscall.SIGTERM)
		t := time.NewTimer(execKillGrace)
		defer t.Stop()
		select {
		case <-t.C:
			signalGroup(cmd.Process.Pid, syscall.SIGKILL)
		case <-exited:
		}
	})
	defer interrupted()

	var wg sync.WaitGroup
	var sendErr error
	wg.Add(2)
	go func() { // the client's bytes to the child's stdin
		defer wg.Done()
		toChild(conn, inW)
	}()
	go func() { // the child's stdout to the client, then FIN
		defer wg.Done()
		sendErr = fromChild(conn, outR, cfg.Stream.NoShutdown)
	}()

	waitErr := cmd.Wait()
	close(exited)
	// The child is gone; its stdout may still be held by a process it
	// started, which then owns the session. Once that ends too, give the
	// client execLinger to close its side.
	lingerDone := make(chan struct{})
	go func() {
		select {
		case <-time.After(execLinger):
			conn.SetReadDeadline(aLongTimeAgo)
		case <-lingerDone:
		}
	}()
	wg.Wait()
	close(lingerDone)

	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		st, _ := ee.Sys().(syscall.WaitStatus)
		if st.Signaled() {
			return &ExecExitError{Prog: prog, Status: -1, Signal: st.Signal()}
		}
		return &ExecExitError{Prog: prog, Status: ee.ExitCode()}
	}
	if waitErr != nil {
		return fmt.Errorf("exec %s: %w", prog, waitErr)
	}
	if sendErr != nil {
		return describe("send to", peerName(conn), sendErr)
	}
	return nil
}

// toChild copies the client's bytes into the child's stdin and closes it at
// the client's EOF. If the child stops reading, the rest of the client's
// bytes are read and dropped, so the client is not reset while the child is
// still answering.
func toChild(conn net.Conn, w *os.File) {
	_, err := io.Copy(w, conn)
	w.Close()
	if err != nil && isEPIPE(err) {
		io.Copy(io.Discard, conn)
	}
}

// fromChild copies the child's stdout to the client and half-closes the
// connection at its end. It returns the error that kept output from the
// client, if any.
func fromChild(conn net.Conn, r *os.File, noShutdown bool) error {
	_, err := io.Copy(conn, r)
	r.Close() // a child still writing now gets EPIPE
	if err != nil {
		return &ioutil.SendError{Err: err}
	}
	if !noShutdown {
		ioutil.CloseWrite(conn)
	}
	return nil
}

// signalGroup signals the child's process group (it was started with
// Setpgid, so the group id is its pid).
func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil {
		syscall.Kill(pid, sig)
	}
}

// execCommand builds the command of -e (split into words, nothing expanded)
// or -c (/bin/sh -c CMD), and the name used in messages.
func execCommand(cfg *Config) (*exec.Cmd, string, error) {
	if cfg.Serve.ShExec != "" {
		return exec.Command("/bin/sh", "-c", cfg.Serve.ShExec), "sh -c", nil
	}
	words, err := SplitWords(cfg.Serve.Exec)
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
	words, err := SplitWords(s.Exec)
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

// serveExecKeepOpen runs -e/-c for every client, concurrently, under -k.
func serveExecKeepOpen(ctx context.Context, cfg *Config, ln net.Listener, f *filter, stdio Stdio) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex // guards active
		active int
	)
	admit := func(c net.Conn) {
		mu.Lock()
		if active >= maxConns(cfg) {
			n := active
			mu.Unlock()
			logf(cfg, stdio, "refused connection from %s: %d clients connected (-m %d)", peerName(c), n, maxConns(cfg))
			c.Close()
			return
		}
		active++
		n := active
		mu.Unlock()
		tuneTCP(cfg, c)
		name := peerName(c)
		logf(cfg, stdio, "connection from %s (%d connected)", name, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := execConn(ctx, cfg, c, stdio)
			c.Close()
			mu.Lock()
			active--
			n := active
			mu.Unlock()
			if err != nil && ctx.Err() == nil {
				logf(cfg, stdio, "%s: %v (%d connected)", name, err, n)
			} else {
				logf(cfg, stdio, "%s disconnected (%d connected)", name, n)
			}
		}()
	}
	err := acceptLoop(ctx, cfg, ln, f, stdio, admit)
	ln.Close()
	wg.Wait()
	if err != nil {
		return err
	}
	return ctx.Err()
}

// SplitWords splits s into words as a POSIX shell would, without expanding
// anything: blanks separate words; '…' keeps everything literally; "…" keeps
// everything but \" \\ \$ \` and backslash-newline; a backslash outside
// quotes keeps the next character. $VAR, globs, ~, |, > and ; are ordinary
// characters: -e runs no shell (use -c for that).
func SplitWords(s string) ([]string, error) {
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
