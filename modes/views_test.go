package modes

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sockcat/sockcat/ioutil"
)

// TestSHA256BothEnds64MiB: --sha256 on both ends of a 64 MiB transfer (and
// a smaller one the other way) prints the sha256 of the data on each side.
func TestSHA256BothEnds64MiB(t *testing.T) {
	dir := t.TempDir()
	up := make([]byte, 64<<20)
	for i := range up {
		up[i] = byte(i*31 + i>>9)
	}
	down := bytes.Repeat([]byte("downstream\x00\xff"), 100_000)
	upFile := filepath.Join(dir, "up")
	downFile := filepath.Join(dir, "down")
	if err := os.WriteFile(upFile, up, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(downFile, down, 0o600); err != nil {
		t.Fatal(err)
	}
	open := func(name string) *os.File {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	hexSum := func(b []byte) string {
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}

	srvCfg := baseConfig()
	srvCfg.Views.SHA256 = true
	var srvErr, srvOut lockedBuffer
	addr, done := startListen(t, srvCfg, Stdio{In: open(downFile), Out: &srvOut, Err: &srvErr})
	host, port, _ := net.SplitHostPort(addr)
	cfg := baseConfig()
	cfg.Host = host
	cfg.Port, _ = strconv.Atoi(port)
	cfg.Views.SHA256 = true
	cfg.Views.StatsJSON = true
	var cliErr, cliOut lockedBuffer
	if err := Run(context.Background(), cfg, Stdio{In: open(upFile), Out: &cliOut, Err: &cliErr}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	if err := wait(t, done); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if cliOut.String() != string(down) || srvOut.String() != string(up) {
		t.Fatalf("payload damaged: client got %d bytes, server %d", len(cliOut.String()), len(srvOut.String()))
	}
	upSum, downSum := hexSum(up), hexSum(down)
	for _, c := range []struct {
		side, stderr, sent, recv string
	}{
		{"client", cliErr.String(), upSum, downSum},
		{"server", srvErr.String(), downSum, upSum},
	} {
		if !strings.Contains(c.stderr, "sockcat: sha256 sent "+c.sent+"\n") ||
			!strings.Contains(c.stderr, "sockcat: sha256 received "+c.recv+"\n") {
			t.Errorf("%s stderr:\n%s\nwant sha256 sent %s, received %s", c.side, c.stderr, c.sent, c.recv)
		}
	}
	if !strings.Contains(cliErr.String(), `"sha256_sent":"`+upSum+`"`) || !strings.Contains(cliErr.String(), `"bytes_sent":67108864,`) {
		t.Errorf("client --stats-json lacks the digest or the count:\n%s", cliErr.String())
	}
}

// TestOpenViewsRawUnwrapped: with no view that transforms or observes the
// stream, In and Out are stdio's own, so the zero-copy paths stay on;
// --stats-json and -P without a terminal do not change that.
func TestOpenViewsRawUnwrapped(t *testing.T) {
	in, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	stdio := Stdio{In: in, Out: out, Err: io.Discard}
	for _, tc := range []struct {
		name   string
		mod    func(*Config)
		direct bool
	}{
		{"default", func(*Config) {}, true},
		{"raw", func(c *Config) { c.Views.Encoding = "raw" }, true},
		{"stats-json", func(c *Config) { c.Views.StatsJSON = true }, true},
		{"progress without a terminal", func(c *Config) { c.Views.Progress = true }, true},
		{"verbose", func(c *Config) { c.Verbose = true }, true},
		{"progress on a terminal", func(c *Config) { c.Views.Progress, c.StderrTTY = true, true }, false},
		{"sha256", func(c *Config) { c.Views.SHA256 = true }, false},
		{"utf-16le", func(c *Config) { c.Views.Encoding = "utf-16le" }, false},
		{"hex", func(c *Config) { c.Views.Encoding = "hex" }, false},
		{"hexdump", func(c *Config) { c.Views.Hexdump = "-" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig()
			tc.mod(cfg)
			if err := checkViews(cfg.Views); err != nil {
				t.Fatal(err)
			}
			v, err := openViews(context.Background(), cfg, stdio)
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			direct := v.In == io.Reader(in) && v.Out == io.Writer(out)
			if direct != tc.direct {
				t.Errorf("stdio passed unwrapped = %t, want %t (In %T, Out %T)", direct, tc.direct, v.In, v.Out)
			}
		})
	}
}

func TestCheckViews(t *testing.T) {
	tests := []struct {
		name    string
		v       ViewOptions
		wantErr string // "" = valid
	}{
		{name: "default", v: ViewOptions{}},
		{name: "charset alias", v: ViewOptions{Encoding: "latin1"}},
		{name: "mixed case", v: ViewOptions{Encoding: "Shift_JIS", EncodingErrors: "replace"}},
		{name: "hex", v: ViewOptions{Encoding: "hex"}},
		{name: "base64 strict", v: ViewOptions{Encoding: "base64", EncodingErrors: "strict"}},
		{name: "unknown", v: ViewOptions{Encoding: "klingon"}, wantErr: `invalid encoding "klingon" (want raw, hex, base64 or a charset`},
		{name: "no codec", v: ViewOptions{Encoding: "utf-32"}, wantErr: `invalid encoding "utf-32"`},
		{name: "replace raw", v: ViewOptions{EncodingErrors: "replace"}, wantErr: `--encoding-errors replace needs a charset --encoding, not "raw"`},
		{name: "replace hex", v: ViewOptions{Encoding: "hex", EncodingErrors: "replace"}, wantErr: `not "hex"`},
		{name: "bad errors", v: ViewOptions{Encoding: "utf-8", EncodingErrors: "ignore"}, wantErr: `invalid --encoding-errors "ignore" (want strict or replace)`},
		{name: "same file", v: ViewOptions{Hexdump: "f", Output: "f"}, wantErr: `-x and -o name the same file "f"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkViews(tt.v)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkViews(%+v) = %v, want nil", tt.v, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("checkViews(%+v) = %v, want an error containing %q", tt.v, err, tt.wantErr)
			}
		})
	}
}

// TestListEncodings: every name listed is accepted by --encoding, and the
// spec's charsets are there.
func TestListEncodings(t *testing.T) {
	var b bytes.Buffer
	if err := ListEncodings(&b); err != nil {
		t.Fatal(err)
	}
	names := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for _, want := range []string{"raw", "hex", "base64", "utf-8", "us-ascii", "iso-8859-1", "iso-8859-15",
		"windows-1252", "utf-16le", "utf-16be", "utf-16", "shift_jis", "euc-kr", "gbk", "koi8-r"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("--encoding list lacks %q", want)
		}
	}
	for _, n := range names {
		if err := checkViews(ViewOptions{Encoding: n}); err != nil {
			t.Errorf("listed %q is refused: %v", n, err)
		}
	}
}

// TestUDPCharsetLines: with --lines, each line is one datagram, cut before
// it is encoded (a UTF-16 newline is two bytes), and each datagram received
// is decoded on its own.
func TestUDPCharsetLines(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan []string, 1)
	go func() {
		var dgs []string
		b := make([]byte, 1024)
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for len(dgs) < 2 {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				break
			}
			dgs = append(dgs, string(b[:n]))
			pc.WriteTo([]byte("o\x00k\x00\n\x00"), from)
		}
		got <- dgs
	}()
	cfg := baseConfig()
	cfg.UDP = true
	cfg.Host = "127.0.0.1"
	cfg.Port = pc.LocalAddr().(*net.UDPAddr).Port
	cfg.Stream.Lines = true
	cfg.Stream.QuitAfter = 300 * time.Millisecond
	cfg.Views.Encoding = "utf-16le"
	var out, errb lockedBuffer
	if err := Run(context.Background(), cfg, Stdio{In: strings.NewReader("é\nzz\n"), Out: &out, Err: &errb}); err != nil {
		t.Fatal(err)
	}
	want := []string{"\xe9\x00\n\x00", "z\x00z\x00\n\x00"}
	if diff := cmp.Diff(want, <-got); diff != "" {
		t.Errorf("datagrams mismatch (-want +got):\n%s", diff)
	}
	if out.String() != "ok\nok\n" || errb.String() != "" {
		t.Errorf("stdout %q, stderr %q; want two decoded replies and no warning", out.String(), errb.String())
	}
}

// TestReportOrder: the -v summary, then the digests, then the JSON object.
func TestReportOrder(t *testing.T) {
	cfg := baseConfig()
	cfg.Verbose = true
	cfg.Views.SHA256 = true
	cfg.Views.StatsJSON = true
	v, err := openViews(context.Background(), cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	v.In.Read(make([]byte, 8))
	v.Out.Write([]byte("abc"))
	var errb bytes.Buffer
	report(cfg, Stdio{Err: &errb}, v, nil, ioutil.Stats{Received: 3}, 2*time.Second, context.Canceled)
	re := regexp.MustCompile(`\Asockcat: sent 0 B, received 3 B in 2\.00s \(1 B/s\)
sockcat: sha256 sent e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
sockcat: sha256 received ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
\{"schema":"sockcat.stats/v1",.*"exit":"interrupted","error":"context canceled",.*\}
\z`)
	if !re.MatchString(errb.String()) {
		t.Errorf("report printed:\n%s", errb.String())
	}
}
