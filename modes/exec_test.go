package modes

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSplitWords(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "cat", want: []string{"cat"}},
		{in: "  ls   -l\t/tmp \n", want: []string{"ls", "-l", "/tmp"}},
		{in: `echo 'a b' "c d"`, want: []string{"echo", "a b", "c d"}},
		{in: `echo a'b'"c"d`, want: []string{"echo", "abcd"}},
		{in: `printf '%s\n' $HOME ~ *`, want: []string{"printf", `%s\n`, "$HOME", "~", "*"}}, // nothing expanded
		{in: `echo "x \"y\" \\ \$z \a"`, want: []string{"echo", `x "y" \ $z \a`}},
		{in: `echo a\ b \'c`, want: []string{"echo", "a b", "'c"}},
		{in: `echo "" ''`, want: []string{"echo", "", ""}},
		{in: "echo a\\\nb", want: []string{"echo", "ab"}},
		{in: `cat > file | x ; y`, want: []string{"cat", ">", "file", "|", "x", ";", "y"}}, // no shell
		{in: "", want: nil},
		{in: `echo 'open`, wantErr: true},
		{in: `echo "open`, wantErr: true},
		{in: `echo \`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := splitWords(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("splitWords(%q) error = %v, wantErr %t", tt.in, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("splitWords(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// shellQuote quotes w so that a POSIX shell (and splitWords) reads it back
// as one word.
func shellQuote(w string) string {
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// FuzzSplitWords: splitting never panics; the words it returns, quoted and
// joined again, split back to the same words; and quoting any list of words
// round-trips.
func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"cat", `echo 'a b' "c d"`, `echo "x \"y\" \\ \$z"`, `a\ b`, `"" ''`, "a\\\nb", `'open`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := splitWords(s)
		if err != nil {
			return
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, shellQuote(w))
		}
		again, err := splitWords(strings.Join(quoted, " "))
		if err != nil {
			t.Fatalf("re-split of %q: %v", quoted, err)
		}
		if diff := cmp.Diff(words, again); diff != "" {
			t.Fatalf("round trip of %q (-first +again):\n%s", s, diff)
		}
		// s itself, read as a list of arbitrary words, quoted, is one word.
		one, err := splitWords(shellQuote(s))
		if err != nil || len(one) != 1 || one[0] != s {
			t.Fatalf("splitWords(shellQuote(%q)) = %q, %v", s, one, err)
		}
	})
}

// TestExecEnvAndLateOutput: the child sees the SOCKCAT_* variables, and
// what it writes after the client half-closed still reaches the client.
func TestExecEnvAndLateOutput(t *testing.T) {
	cfg := listenCfg()
	cfg.Serve.ShExec = `cat >/dev/null; sleep 0.1; echo "$SOCKCAT_REMOTE_ADDR $SOCKCAT_REMOTE_PORT $SOCKCAT_LOCAL_ADDR $SOCKCAT_LOCAL_PORT $SOCKCAT_PROTO"; echo late`
	srv := startServer(t, cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	c := dial(t, "tcp", srv.addr)
	c.Write([]byte("request that is read and dropped\n"))
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(srvWait))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	la := c.LocalAddr().(*net.TCPAddr)
	ra := c.RemoteAddr().(*net.TCPAddr)
	want := fmt.Sprintf("%s %d %s %d tcp\nlate\n", la.IP, la.Port, ra.IP, ra.Port)
	if string(got) != want {
		t.Errorf("client got %q, want %q", got, want)
	}
	if err := srv.result(t); err != nil {
		t.Errorf("exec session: %v, want nil (child exited 0)", err)
	}
}

// TestExecExitStatus: without -k the mode fails with the child's status.
func TestExecExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		exec   string
		sh     string
		status int
	}{
		{name: "exec", exec: `sh -c 'exit 4'`, status: 4},
		{name: "sh-exec", sh: "exit 3", status: 3},
		{name: "signal", sh: "kill -TERM $$", status: -1},
		{name: "ok", sh: "echo hi", status: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := listenCfg()
			cfg.Serve.Exec, cfg.Serve.ShExec = tt.exec, tt.sh
			srv := startServer(t, cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
			c := dial(t, "tcp", srv.addr)
			c.SetReadDeadline(time.Now().Add(srvWait))
			io.ReadAll(c)
			c.Close()
			err := srv.result(t)
			var ee *execExitError
			switch {
			case tt.status == 0 && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.status != 0 && !errors.As(err, &ee):
				t.Fatalf("got %v, want an execExitError", err)
			case tt.status != 0 && ee.Status != tt.status:
				t.Fatalf("status %d (%v), want %d", ee.Status, err, tt.status)
			}
		})
	}
}

// TestExecKeepOpenConcurrent: five clients at once under -k, each with its
// own process; all five are connected before any sends, so a server that
// served them one after the other would hang.
func TestExecKeepOpenConcurrent(t *testing.T) {
	const clients = 5
	errb := &srvBuffer{}
	cfg := listenCfg()
	cfg.Serve.KeepOpen = true
	cfg.Serve.Exec = `sh -c 'read line; echo "$line from $SOCKCAT_REMOTE_PORT"'`
	cfg.Verbose = true
	srv := startServer(t, cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: errb})
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = dial(t, "tcp", srv.addr)
	}
	errb.waitFor(t, fmt.Sprintf("(%d connected)", clients))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(c, "client %d\n", i)
			c.SetReadDeadline(time.Now().Add(srvWait))
			got, err := io.ReadAll(c)
			want := fmt.Sprintf("client %d from %d\n", i, c.LocalAddr().(*net.TCPAddr).Port)
			if string(got) != want || err != nil {
				t.Errorf("client %d: got %q, %v; want %q", i, got, err, want)
			}
		}()
	}
	wg.Wait()
	if err := srv.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("-k -e ended with %v, want context.Canceled", err)
	}
}

// TestExecInterrupt: an interrupt ends the session at once and the child
// (and what it started) gets SIGTERM.
func TestExecInterrupt(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	cfg := listenCfg()
	cfg.Serve.ShExec = "echo $$ > " + pidFile + "; sleep 60 & wait"
	srv := startServer(t, cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	dial(t, "tcp", srv.addr)
	var pid int
	deadline := time.Now().Add(srvWait)
	for pid == 0 {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		if time.Now().After(deadline) {
			t.Fatal("the child did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	if err := srv.stop(t); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted exec: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > execKillGrace+time.Second {
		t.Errorf("interrupt took %v", d)
	}
	if err := syscallKill0(pid); err == nil {
		t.Errorf("child %d still running after the interrupt", pid)
	}
}

// TestExecConnect: -c in connect mode talks to the server.
func TestExecConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		c.Write([]byte("ping\n"))
		c.(*net.TCPConn).CloseWrite()
		b, _ := bufio.NewReader(c).ReadString('\n')
		got <- b
	}()
	cfg := listenCfg()
	cfg.Listen = false
	cfg.Port = ln.Addr().(*net.TCPAddr).Port
	cfg.Serve.ShExec = `read l; echo "pong $l $SOCKCAT_PROTO"`
	if err := Run(context.Background(), cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}); err != nil {
		t.Fatalf("connect -c: %v", err)
	}
	if g := <-got; g != "pong ping tcp\n" {
		t.Errorf("server got %q", g)
	}
}

func TestCheckExec(t *testing.T) {
	tests := []struct {
		exec    string
		wantErr string
	}{
		{exec: "cat"},
		{exec: `sh -c 'echo hi'`},
		{exec: "no-such-program-sockcat", wantErr: "not found"},
		{exec: `cat "x`, wantErr: "unterminated double quote"},
		{exec: "  ", wantErr: "empty command"},
	}
	for _, tt := range tests {
		t.Run(tt.exec, func(t *testing.T) {
			err := checkExec(ServeOptions{Exec: tt.exec})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("checkExec(%q) = %v, want an error containing %q", tt.exec, err, tt.wantErr)
			}
		})
	}
}
