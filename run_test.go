package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// liveListener returns a TCP listener on 127.0.0.1 that counts the
// connections it receives, so a test can prove no socket was opened.
func liveListener(t *testing.T) (host, port string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n = make(chan int, 1)
	n <- 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			v := <-n
			n <- v + 1
			c.Close()
		}
	}()
	h, p, _ := net.SplitHostPort(ln.Addr().String())
	return h, p, func() int { v := <-n; n <- v; return v }
}

// TestRunUsageErrors: every bad invocation exits 2 with one stderr line
// naming the problem, prints nothing on stdout and opens no socket.
func TestRunUsageErrors(t *testing.T) {
	host, port, accepted := liveListener(t)
	tests := []struct {
		args string
		want string // regexp the stderr line must match
	}{
		{"H 0", `invalid port "0" \(want 1-65535`},
		{"H 70000", `invalid port "70000"`},
		{"H -1", `^sockcat: unknown flag -1$`},
		{"H abc", `invalid port "abc": unknown tcp service`},
		{"H 99999999999999999999", `invalid port "99999999999999999999"`},
		{"-B -5 H P", `--buffer-size: invalid size "-5"`},
		{"-B 1X H P", `--buffer-size: invalid size "1X"`},
		{"-B 0 H P", `invalid size "0" \(want 1 to 1G\)`},
		{"--sndbuf lots H P", `--sndbuf: invalid size "lots"`},
		{"-w abc H P", `--wait: invalid duration "abc"`},
		{"-w -1s H P", `--wait: invalid duration "-1s"`},
		{"-q xyz H P", `--quit-after: invalid duration "xyz"`},
		{"-i 5parsecs H P", `--idle-timeout: invalid duration "5parsecs"`},
		{"--delay soon H P", `--delay: invalid duration "soon"`},
		{"-l", `listen needs a PORT`},
		{"-l 70000", `invalid port "70000" \(want 0-65535`},
		{"-l -p 4444 4445 4446", `port given twice: -p 4444 and "4446"`},
		{"-l 1 2 3", `unexpected argument "3"`},
		{"-l -p 80 H 81", `port given twice: -p 80 and "81"`},
		{"--bogus H P", `^sockcat: unknown flag --bogus$`},
		{"-lQ 80", `^sockcat: unknown flag -Q \(in -lQ\)$`},
		// Item 1: a value-taking flag written last never takes a positional.
		{"H P -q", `^sockcat: -q needs a value: -q DUR$`},
		{"H P --quit-after", `^sockcat: --quit-after needs a value: --quit-after DUR$`},
		{"H P --hexdump", `^sockcat: --hexdump needs a value: --hexdump FILE$`},
		{"H P -x", `^sockcat: -x needs a value: -x FILE$`},
		{"H P -o", `^sockcat: -o needs a value: -o FILE$`},
		{"H P --encoding", `^sockcat: --encoding needs a value: --encoding NAME$`},
		{"-l 4444 -p", `^sockcat: -p needs a value: -p PORT$`},
		// Item 2: "-" inside a bundle.
		{"-zv- H 9", `^sockcat: "-zv-": a short-flag bundle cannot hold "-"`},
		{"-z-v H 9", `^sockcat: "-z-v": a short-flag bundle cannot hold "-"`},
		// Item 3: -s is the bind address in listen mode.
		{"-l -s 127.0.0.1 ::1 0", `^sockcat: two bind addresses: -s 127\.0\.0\.1 and HOST ::1 \(give one\)$`},
		{"-l -s 127.0.0.1 -p 0 ::1", `^sockcat: two bind addresses`},
		// Item 4: a second port after -p.
		{"-l -p 4444 4445", `^sockcat: port given twice: -p 4444 and "4445"$`},
		// Item 5: brackets hold an IPv6 address.
		{"[nohost] P", `^sockcat: host "\[nohost\]": brackets hold an IPv6 address`},
		{"[127.0.0.1] P", `brackets hold an IPv6 address`},
		{"-s [::1 H P", `source address "\[::1": brackets hold an IPv6 address`},
		// Item 6: unknown flags named as typed, with the nearest one.
		{"--listne 4444", `^sockcat: unknown flag --listne; did you mean --listen\?$`},
		{"-h foo", `^sockcat: --help takes no argument \(got "foo"\)`},
		{"--listen=4444", `^sockcat: --listen takes no value \(got --listen=4444\); did you mean --listen 4444\?$`},
		// Item 7: OpenBSD nc's -x HOST:PORT.
		{"-x 127.0.0.1:3128 H P", `^sockcat: -x 127\.0\.0\.1:3128 looks like a proxy address .*use -X socks5://127\.0\.0\.1:3128`},
		{"-x proxy:8080 H P", `looks like a proxy address`},
		// Item 8: ncat spellings.
		{"--ssl-verify --tls-insecure H P", `^sockcat: --ssl-verify and --tls-insecure contradict each other$`},
		{"--ssl-cert a --tls-cert b -l 80", `^sockcat: --ssl-cert and --tls-cert are the same option; give one$`},
		{"--proxy-type socks4 --proxy 127.0.0.1:1 H P", `^sockcat: --proxy-type "socks4": want socks5 or http$`},
		{"--proxy 127.0.0.1:1 H P", `^sockcat: -X/--proxy 127\.0\.0\.1:1: no scheme; add --proxy-type http \(ncat's default\) or --proxy-type socks5, or write http://127\.0\.0\.1:1$`},
		{"--proxy-auth u:p H P", `^sockcat: --proxy-auth needs --proxy HOST:PORT$`},
		{"--proxy-type http -X socks5://127.0.0.1:1 H P", `contradicts the socks5:// proxy URL`},
		{"--proxy-auth u:p -X socks5://a:b@127.0.0.1:1 H P", `the proxy URL has a user already`},
		{"-z -l H 80", `-z cannot be combined with -l`},
		{"--broker H P", `--broker needs -l`},
		{"-l --broker -e cat 80", `--exec/--sh-exec cannot be combined with --broker`},
		{"-4 -6 H P", `-4 and -6 are mutually exclusive`},
		{"-4 ::1 P", `host ::1 is not an IPv4 address \(-4 given\)`},
		{"-6 H P", `host 127.0.0.1 is not an IPv6 address \(-6 given\)`},
		{"-n localhost P", `host "localhost" is not a numeric IP address`},
		{"--send-only --recv-only H P", `--send-only and --recv-only are mutually exclusive`},
		{"-z H 1-70000", `bad range "1-70000"`},
		{"-z H 10-5", `bad range "10-5"`},
		{"-z H ''", `invalid port list "": empty`},
		{"-l -k -m 0 80", `--max-conns: invalid value "0"`},
		{"--ttl 300 H P", `--ttl: invalid value "300" \(want an integer 1-255\)`},
		{"--retry -1 H P", `--retry: invalid value "-1"`},
		{"-z --concurrency 0 H 80", `--concurrency: invalid value "0"`},
		{"--encoding klingon H P", `encoding "klingon"`},
		{"--encoding-errors ignore H P", `--encoding-errors "ignore"`},
		{"H", `missing HOST or PORT`},
		{"", `missing HOST or PORT`},
		{"H P extra", `unexpected argument "extra"`},
		{"-k H P", `-k needs -l`},
		{"--tls-pin abc H P", `--tls-pin needs --tls`},
		{"-U", `missing PATH`},
		{"--append-output H P", `--append-output needs -o FILE`},
		{"-s nowhere H P", `source address "nowhere" is not an IP address`},
		{"-X socks5://127.0.0.1:1 -l 80", `-X/--proxy works only for a TCP connect`},
		{"--join 239.1.1.1 H P", `--join needs -l -u`},
		{"--wait-for 5s H P", `--wait-for needs -z`},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			args := []string{"sockcat"}
			for _, a := range strings.Fields(tt.args) {
				switch a {
				case "H":
					a = host
				case "P":
					a = port
				case "''":
					a = ""
				}
				args = append(args, a)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit = %d, want %d (stderr %q)", code, exitUsage, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "sockcat: ") {
				t.Fatalf("stderr = %q, want one line starting with %q", stderr.String(), "sockcat: ")
			}
			if !regexp.MustCompile(tt.want).MatchString(lines[0]) {
				t.Errorf("stderr = %q, want a match for %q", lines[0], tt.want)
			}
		})
	}
	if n := accepted(); n != 0 {
		t.Errorf("the live listener accepted %d connections; usage errors must open no socket", n)
	}
}

// TestRunExitCodes covers 0, 1 and the one-line error of a runtime failure.
func TestRunExitCodes(t *testing.T) {
	// A port bound by a socket that never listens: connect is refused, and
	// no other test can be given the port meanwhile.
	cport, closeFn, err := reserveClosedPort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	closed := strconv.Itoa(cport)

	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	}()
	echoPort := strconv.Itoa(echo.Addr().(*net.TCPAddr).Port)

	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string // regexp; "" means empty
	}{
		{"echo", []string{"127.0.0.1", echoPort}, "hello\n", exitOK, "hello\n", ""},
		{"echo options after positionals", []string{"127.0.0.1", echoPort, "-n", "-w", "5"}, "x", exitOK, "x", ""},
		{"refused", []string{"127.0.0.1", closed}, "", exitFailure, "", `^sockcat: connect 127\.0\.0\.1:` + closed + `: connection refused\n$`},
		{"refused service name", []string{"-n", "127.0.0.1", "discard"}, "", exitFailure, "", `^sockcat: connect 127\.0\.0\.1:9: connection refused\n$`},
		{"version", []string{"--version"}, "", exitOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"sockcat"}, tt.args...), strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit = %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if tt.name == "version" {
				if !strings.HasPrefix(stdout.String(), "sockcat ") {
					t.Errorf("--version printed %q", stdout.String())
				}
				return
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.wantStdout)
			}
			if tt.wantStderr == "" && stderr.Len() != 0 || tt.wantStderr != "" && !regexp.MustCompile(tt.wantStderr).MatchString(stderr.String()) {
				t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

// TestRunInterrupted: SIGINT or SIGTERM exits 130 and prints no error;
// with -v and a client connected, the transfer summary is still printed.
// It is not parallel: the signal reaches the whole test process.
func TestRunInterrupted(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			addrFile := t.TempDir() + "/addr"
			done := make(chan int, 1)
			var stderr bytes.Buffer
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			go func() {
				done <- run([]string{"sockcat", "-l", "-v", "--addr-file", addrFile, "127.0.0.1", "0"}, pr, io.Discard, &stderr)
			}()
			deadline := time.Now().Add(10 * time.Second)
			var addr []byte
			for {
				if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
					addr = bytes.TrimSpace(b)
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("listener did not write its address")
				}
				time.Sleep(5 * time.Millisecond)
			}
			c, err := net.Dial("tcp", string(addr))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("12345"))
			time.Sleep(100 * time.Millisecond) // let the listener accept and read
			interruptSelf(t, sig)
			select {
			case code := <-done:
				if code != exitInterrupted {
					t.Errorf("exit = %d, want %d", code, exitInterrupted)
				}
				if !regexp.MustCompile(`(?m)^sockcat: sent 0 B, received 5 B in `).MatchString(stderr.String()) {
					t.Errorf("stderr = %q, want the -v summary", stderr.String())
				}
				if strings.Contains(stderr.String(), "canceled") {
					t.Errorf("stderr = %q, want no error line", stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the signal did not end the listener")
			}
		})
	}
}

// TestRunManAndCompletion: the hidden --man prints a section-1 man page
// from the same flag definitions, and shell completion lists commands and
// flags.
func TestRunManAndCompletion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"sockcat", "--man"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("--man exit = %d, stderr %q", code, errb.String())
	}
	for _, want := range []string{".TH SOCKCAT 1", `\-\-keep\-open`, `\-\-tls\-pin`, "RESOLVE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--man output lacks %q", want)
		}
	}
	out.Reset()
	if code := run([]string{"sockcat", "--generate-bash-completion"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("completion exit = %d", code)
	}
	if !strings.Contains(out.String(), "resolve") {
		t.Errorf("completion = %q, want the resolve command", out.String())
	}
	out.Reset()
	if code := run([]string{"sockcat", "--lis", "--generate-bash-completion"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("flag completion exit = %d", code)
	}
	if !strings.Contains(out.String(), "--listen") {
		t.Errorf("flag completion = %q, want --listen", out.String())
	}
	out.Reset()
	if code := run([]string{"sockcat", "-h"}, strings.NewReader(""), &out, &errb); code != exitOK || !strings.Contains(out.String(), "--quit-after") {
		t.Errorf("-h: exit %d, output lacks --quit-after", code)
	}
}
