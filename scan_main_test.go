package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// scanClosedPort returns a TCP port of 127.0.0.1 that refuses connections
// for the rest of the test (held by a bound, non-listening socket).
func scanClosedPort(t *testing.T) string {
	t.Helper()
	port, closeFn, err := reserveClosedPort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return strconv.Itoa(port)
}

// scanOpenPort starts a listener on 127.0.0.1 that accepts and closes
// connections, and returns its port.
func scanOpenPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestScanExitCodes runs -z through run: 0 when a port is open, 1 when none
// is (with no message), 2 for a bad PORTSPEC (one line naming it).
func TestScanExitCodes(t *testing.T) {
	open := scanOpenPort(t)
	closed := scanClosedPort(t)
	tests := []struct {
		name       string
		args       string
		want       int
		wantStdout string // regexp ("" = empty)
		wantStderr string // regexp ("" = empty)
	}{
		{name: "open", args: "-z 127.0.0.1 " + closed + "," + open, want: exitOK, wantStdout: `^` + open + `/tcp open( \S+)?\n$`},
		{name: "none open", args: "-z 127.0.0.1 " + closed, want: exitFailure},
		{name: "none open, verbose", args: "-zv 127.0.0.1 " + closed, want: exitFailure, wantStderr: `^sockcat: ` + closed + `/tcp closed( \S+)? \(refused\)\n$`},
		{name: "wait-for gives up", args: "-z --wait-for 300ms 127.0.0.1 " + closed, want: exitFailure, wantStderr: `^sockcat: wait for 127\.0\.0\.1: ` + closed + `/tcp not open after 300ms\n$`},
		{name: "wait-for met", args: "-z --wait-for 5s 127.0.0.1 " + open, want: exitOK, wantStdout: `^` + open + `/tcp open`},
		{name: "port 0", args: "-z 127.0.0.1 0", want: exitUsage, wantStderr: `^sockcat: invalid port list "0": .*\(want ports 1-65535`},
		{name: "too high", args: "-z 127.0.0.1 1-70000", want: exitUsage, wantStderr: `^sockcat: invalid port list "1-70000": bad range`},
		{name: "reversed", args: "-z 127.0.0.1 80-79", want: exitUsage, wantStderr: `bad range "80-79"`},
		{name: "unknown name", args: "-z 127.0.0.1 nosuchservice", want: exitUsage, wantStderr: `unknown tcp service`},
		{name: "trailing comma", args: "-z 127.0.0.1 22,", want: exitUsage, wantStderr: `invalid port list "22,": empty item`},
		{name: "udp unknown name", args: "-zu 127.0.0.1 nosuchservice", want: exitUsage, wantStderr: `unknown udp service`},
		{name: "bad concurrency", args: "-z --concurrency -1 127.0.0.1 22", want: exitUsage, wantStderr: `--concurrency: invalid value "-1"`},
		{name: "bad wait-for", args: "-z --wait-for soon 127.0.0.1 22", want: exitUsage, wantStderr: `--wait-for: invalid duration "soon"`},
		{name: "json without -z", args: "--json 127.0.0.1 22", want: exitUsage, wantStderr: `--json needs -z`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"sockcat"}, strings.Fields(tt.args)...), strings.NewReader(""), &stdout, &stderr)
			if code != tt.want {
				t.Errorf("sockcat %s: exit %d, want %d (stderr %q)", tt.args, code, tt.want, stderr.String())
			}
			check := func(name, got, pat string) {
				if pat == "" {
					if got != "" {
						t.Errorf("sockcat %s: %s = %q, want nothing", tt.args, name, got)
					}
					return
				}
				if !regexp.MustCompile(pat).MatchString(got) {
					t.Errorf("sockcat %s: %s = %q, want a match for %q", tt.args, name, got, pat)
				}
			}
			check("stdout", stdout.String(), tt.wantStdout)
			check("stderr", stderr.String(), tt.wantStderr)
			if tt.want == exitUsage && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("sockcat %s: stderr %q, want exactly one line", tt.args, stderr.String())
			}
		})
	}
}

// TestScanJSONParses decodes the --json output of run: one object per port,
// in port order, each with every field.
func TestScanJSONParses(t *testing.T) {
	open := scanOpenPort(t)
	closed := scanClosedPort(t)
	var stdout, stderr bytes.Buffer
	code := run([]string{"sockcat", "-z", "--json", "127.0.0.1", open + "," + closed}, strings.NewReader(""), &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (stderr %q)", code, stderr.String())
	}
	type line struct {
		Host    string   `json:"host"`
		Address string   `json:"address"`
		Port    int      `json:"port"`
		Proto   string   `json:"proto"`
		State   string   `json:"state"`
		Service *string  `json:"service"`
		Reason  string   `json:"reason"`
		RTTms   *float64 `json:"rtt_ms"`
	}
	want := map[string]string{open: "open", closed: "closed"}
	var ports []int
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"host", "address", "port", "proto", "state", "service", "rtt_ms"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("line %q lacks %q", sc.Text(), k)
			}
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		p := strconv.Itoa(l.Port)
		if l.Host != "127.0.0.1" || l.Address != "127.0.0.1" || l.Proto != "tcp" || l.State != want[p] || l.RTTms == nil {
			t.Errorf("line %q: want host and address 127.0.0.1, proto tcp, state %q, an rtt_ms", sc.Text(), want[p])
		}
		ports = append(ports, l.Port)
	}
	o, _ := strconv.Atoi(open)
	c, _ := strconv.Atoi(closed)
	wantPorts := []int{min(o, c), max(o, c)}
	if len(ports) != 2 || ports[0] != wantPorts[0] || ports[1] != wantPorts[1] {
		t.Errorf("ports %v, want %v (one object per port, in order)", ports, wantPorts)
	}
}
