package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands for the tls_* and proxy_* scripts: a test PKI made with
// crypto/x509, background peers whose output can be read while they run,
// and real proxies (tinyproxy, danted) on free loopback ports.
func init() {
	add := func(name string, f func(*testscript.TestScript, bool, []string)) {
		if _, dup := scriptCmds[name]; dup {
			panic("script command " + name + " registered twice")
		}
		scriptCmds[name] = f
	}
	add("tlscerts", cmdTLSCerts)
	add("certpin", cmdCertPin)
	add("spawn", cmdSpawn)
	add("reap", cmdReap)
	add("grabvar", cmdGrabVar)
	add("waitlisten", cmdWaitListen)
	add("proxystart", cmdProxyStart)
}

// cmdTLSCerts writes a test PKI into DIR (PEM, ECDSA P-256):
//
//	ca.pem                   a test CA
//	server.pem, server.key   signed by the CA for localhost, sni.test, 127.0.0.1, ::1
//	client.pem, client.key   signed by the CA, for client authentication
//	self.pem, self.key       self-signed, for localhost and 127.0.0.1
//	rogue.pem, rogue.key     a client certificate signed by another CA
//
// Usage: tlscerts DIR
func cmdTLSCerts(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tlscerts DIR")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o755))
	write := func(name, typ string, der []byte) {
		b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		ts.Check(os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		ts.Check(err)
		write(name, "PRIVATE KEY", der)
	}
	ca, caKey := makeCert(ts, "sockcat test CA", nil, nil, true, 0)
	write("ca.pem", "CERTIFICATE", ca.Raw)
	srv, srvKey := makeCert(ts, "localhost", ca, caKey, false, x509.ExtKeyUsageServerAuth)
	write("server.pem", "CERTIFICATE", srv.Raw)
	writeKey("server.key", srvKey)
	cli, cliKey := makeCert(ts, "sockcat test client", ca, caKey, false, x509.ExtKeyUsageClientAuth)
	write("client.pem", "CERTIFICATE", cli.Raw)
	writeKey("client.key", cliKey)
	self, selfKey := makeCert(ts, "localhost", nil, nil, false, x509.ExtKeyUsageServerAuth)
	write("self.pem", "CERTIFICATE", self.Raw)
	writeKey("self.key", selfKey)
	other, otherKey := makeCert(ts, "another CA", nil, nil, true, 0)
	rogue, rogueKey := makeCert(ts, "rogue client", other, otherKey, false, x509.ExtKeyUsageClientAuth)
	write("rogue.pem", "CERTIFICATE", rogue.Raw)
	writeKey("rogue.key", rogueKey)
}

// makeCert creates a certificate signed by parent (self-signed when parent
// is nil). Leaves are valid for localhost, sni.test and the loopback addresses.
func makeCert(ts *testscript.TestScript, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, usage x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	ts.Check(err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"sockcat tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		tmpl.DNSNames = []string{"localhost", "sni.test"}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	ts.Check(err)
	c, err := x509.ParseCertificate(der)
	ts.Check(err)
	return c, key
}

// cmdCertPin sets VAR to the SHA-256 fingerprint of the PEM certificate in
// FILE, as hex (default), colon-separated upper-case hex (openssl's form) or
// base64.
//
// Usage: certpin FILE VAR [hex|colon|base64]
func cmdCertPin(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: certpin FILE VAR [hex|colon|base64]")
	}
	block, _ := pem.Decode([]byte(ts.ReadFile(args[0])))
	if block == nil {
		ts.Fatalf("certpin: %s: no PEM block", args[0])
	}
	sum := sha256.Sum256(block.Bytes)
	form := "hex"
	if len(args) == 3 {
		form = args[2]
	}
	var s string
	switch form {
	case "hex":
		s = hex.EncodeToString(sum[:])
	case "colon":
		parts := make([]string, len(sum))
		for i, b := range sum {
			parts[i] = fmt.Sprintf("%02X", b)
		}
		s = strings.Join(parts, ":")
	case "base64":
		s = base64.StdEncoding.EncodeToString(sum[:])
	default:
		ts.Fatalf("certpin: unknown form %q", form)
	}
	ts.Setenv(args[1], s)
}

// spawned is a background process started by spawn.
type spawned struct {
	cmd  *exec.Cmd
	done chan error
}

// cmdSpawn starts PROG in the background in $WORK, its stdout and stderr
// going to NAME.out and NAME.err (readable while it runs, unlike exec's
// &NAME&), its stdin from FILE or empty. It is killed by PID when the
// script ends.
//
// Usage: spawn NAME [-stdin FILE] PROG ARGS...
func cmdSpawn(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: spawn NAME [-stdin FILE] PROG ARGS...")
	}
	name, args := args[0], args[1:]
	var stdin *os.File
	if args[0] == "-stdin" {
		if len(args) < 3 {
			ts.Fatalf("usage: spawn NAME [-stdin FILE] PROG ARGS...")
		}
		f, err := os.Open(ts.MkAbs(args[1]))
		ts.Check(err)
		stdin, args = f, args[2:]
	}
	out, err := os.Create(ts.MkAbs(name + ".out"))
	ts.Check(err)
	errf, err := os.Create(ts.MkAbs(name + ".err"))
	ts.Check(err)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = append(os.Environ(), "WORK="+ts.Getenv("WORK"), "HOME="+ts.Getenv("WORK"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, errf
	ts.Check(cmd.Start())
	p := &spawned{cmd: cmd, done: make(chan error, 1)}
	go func() {
		p.done <- cmd.Wait()
		out.Close()
		errf.Close()
		if stdin != nil {
			stdin.Close()
		}
	}()
	spawnedProcs(ts)[name] = p
	ts.Defer(func() {
		// By PID: SIGTERM first, so a forking server (danted) reaps its
		// children, then SIGKILL. Both are no-ops once it has exited.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
	})
}

// procs holds each running script's spawned processes by name.
var procs = struct {
	sync.Mutex
	m map[*testscript.TestScript]map[string]*spawned
}{m: map[*testscript.TestScript]map[string]*spawned{}}

// spawnedProcs is the process table of ts, created on first use and dropped
// when the script ends.
func spawnedProcs(ts *testscript.TestScript) map[string]*spawned {
	procs.Lock()
	defer procs.Unlock()
	m := procs.m[ts]
	if m == nil {
		m = map[string]*spawned{}
		procs.m[ts] = m
		ts.Defer(func() {
			procs.Lock()
			delete(procs.m, ts)
			procs.Unlock()
		})
	}
	return m
}

// cmdReap waits (bounded) for a spawned process to exit and checks its
// status: 0, or non-zero when negated. A process still running after the
// wait bound is killed and the script fails.
//
// Usage: [!] reap NAME
func cmdReap(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: reap NAME")
	}
	p := spawnedProcs(ts)[args[0]]
	if p == nil {
		ts.Fatalf("reap: no process %q", args[0])
	}
	var err error
	select {
	case err = <-p.done:
		p.done <- err // for the deferred kill
	case <-time.After(waitTimeout):
		p.cmd.Process.Kill()
		ts.Fatalf("reap %s: still running after %v; killed", args[0], waitTimeout)
	}
	ts.Logf("%s: %v", args[0], p.cmd.ProcessState)
	if neg && err == nil {
		ts.Fatalf("reap %s: exited 0, want failure", args[0])
	}
	if !neg && err != nil {
		ts.Fatalf("reap %s: %v", args[0], err)
	}
}

// cmdGrabVar waits until FILE has a match for REGEX and sets VAR to its
// first group.
//
// Usage: grabvar FILE REGEX VAR
func cmdGrabVar(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: grabvar FILE REGEX VAR")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	deadline := time.Now().Add(waitTimeout)
	for {
		b, _ := os.ReadFile(ts.MkAbs(args[0]))
		if m := re.FindSubmatch(b); len(m) > 1 {
			ts.Setenv(args[2], string(m[1]))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("grabvar: no match for %q in %s after %v (have %q)", args[1], args[0], waitTimeout, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cmdWaitListen waits until a TCP socket listens on PORT (on any local
// address), read from /proc/net/tcp{,6} so that no probe connection uses
// up a one-shot peer such as openssl s_server -naccept 1.
//
// Usage: waitlisten PORT
func cmdWaitListen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitlisten PORT")
	}
	port, err := strconv.Atoi(args[0])
	ts.Check(err)
	deadline := time.Now().Add(waitTimeout)
	for !listening(port) {
		if time.Now().After(deadline) {
			ts.Fatalf("waitlisten: nothing listens on port %d after %v", port, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listening reports whether /proc/net/tcp or tcp6 has a LISTEN socket on port.
func listening(port int) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local_address rem_address st ...; st 0A is LISTEN.
			if len(fields) > 3 && strings.HasSuffix(fields[1], want) && fields[3] == "0A" {
				fh.Close()
				return true
			}
		}
		fh.Close()
	}
	return false
}

// cmdProxyStart runs a real proxy in the foreground on a free port of
// 127.0.0.1, with a configuration written into $WORK, and sets VAR to its
// host:port once it listens. It is killed by PID when the script ends.
//
//	tinyproxy [USER:PASS]        HTTP CONNECT; BasicAuth with USER:PASS
//	tinyproxy-443                HTTP CONNECT allowed to port 443 only
//	danted [USER:PASS]           SOCKS5; with USER:PASS, method username
//	                             against a system user created (or reset) here
//
// Usage: proxystart KIND VAR [USER:PASS]
func cmdProxyStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: proxystart tinyproxy|tinyproxy-443|danted VAR [USER:PASS]")
	}
	kind, user, pass := args[0], "", ""
	if len(args) == 3 {
		var ok bool
		if user, pass, ok = strings.Cut(args[2], ":"); !ok || user == "" {
			ts.Fatalf("proxystart: want USER:PASS, have %q", args[2])
		}
	}
	// A port free a moment ago may be taken before the proxy binds it: try
	// a few ports.
	for attempt := 0; attempt < 5; attempt++ {
		port := freeTCPPort(ts)
		conf := ts.MkAbs(fmt.Sprintf("%s-%d.conf", kind, port))
		var argv []string
		switch kind {
		case "tinyproxy", "tinyproxy-443":
			c := fmt.Sprintf("Port %d\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Info\nAllow 127.0.0.1\n", port)
			if kind == "tinyproxy-443" {
				c += "ConnectPort 443\n"
			}
			if user != "" {
				c += fmt.Sprintf("BasicAuth %s %s\n", user, pass)
			}
			ts.Check(os.WriteFile(conf, []byte(c), 0o600))
			argv = []string{"tinyproxy", "-d", "-c", conf}
		case "danted":
			method := "none"
			if user != "" {
				ensureSystemUser(ts, user, pass)
				method = "username"
			}
			c := fmt.Sprintf(`logoutput: stderr
internal: 127.0.0.1 port = %d
external: 127.0.0.1
clientmethod: none
socksmethod: %s
user.privileged: root
user.unprivileged: nobody
client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }
`, port, method)
			ts.Check(os.WriteFile(conf, []byte(c), 0o600))
			argv = []string{"danted", "-f", conf, "-N", "1", "-p", ts.MkAbs(fmt.Sprintf("danted-%d.pid", port))}
		default:
			ts.Fatalf("proxystart: unknown proxy %q", kind)
		}
		name := fmt.Sprintf("%s-%d", kind, port)
		cmdSpawn(ts, false, append([]string{name}, argv...))
		if waitProxy(ts, spawnedProcs(ts)[name], port) {
			ts.Setenv(args[1], net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			return
		}
		ts.Logf("proxystart: %s exited before listening: %s", kind, ts.ReadFile(name+".err"))
	}
	ts.Fatalf("proxystart: %s did not start", kind)
}

// waitProxy waits (bounded) until port listens; false if p exited first.
func waitProxy(ts *testscript.TestScript, p *spawned, port int) bool {
	deadline := time.Now().Add(waitTimeout)
	for !listening(port) {
		select {
		case err := <-p.done:
			p.done <- err // for the deferred kill
			return false
		default:
		}
		if time.Now().After(deadline) {
			ts.Fatalf("proxystart: nothing listens on %d after %v", port, waitTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// freeTCPPort returns a port of 127.0.0.1 that was free a moment ago.
func freeTCPPort(ts *testscript.TestScript) int {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	ts.Check(err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ensureSystemUser makes a system account with no home and no shell for
// dante's username method (which checks the system password database), and
// sets its password. An account this call created is removed at the end.
func ensureSystemUser(ts *testscript.TestScript, user, pass string) {
	if os.Geteuid() != 0 {
		ts.Fatalf("proxystart danted USER:PASS needs root (guard the script with [root])")
	}
	if err := exec.Command("id", "-u", user).Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("id: %v", err)
		}
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user).CombinedOutput(); err != nil {
			ts.Fatalf("useradd %s: %v: %s", user, err, out)
		}
		ts.Defer(func() { exec.Command("userdel", user).Run() })
	}
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(user + ":" + pass + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		ts.Fatalf("chpasswd: %v: %s", err, out)
	}
}
