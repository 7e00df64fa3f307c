package modes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/sockcat/sockcat/ioutil"
)

// views is the stdio side of a session after the data-view flags are
// applied. With none set, In and Out are stdio's own reader and writer,
// unwrapped, so the zero-copy paths stay on.
//
// The layers, from the terminal to the wire:
//
//	stdin  → --delay → -C → encoder (charset, hex, base64) → [observers] → In
//	stdout ← -o copy ← decoder (charset, hex, base64) ← [observers] ← Out
//
// The observers (-x, --sha256, -P) see the bytes as they are on the wire.
// -o gets exactly what stdout gets.
//
// For datagram sessions each Read of In becomes one datagram, and each
// datagram received is one Write to Out.
type views struct {
	In  io.Reader
	Out io.Writer

	closers []func() error // run by Close, in order

	sentSum, recvSum *ioutil.Digest // --sha256; nil otherwise
}

// viewKind is what --encoding names.
type viewKind int

const (
	viewRaw viewKind = iota
	viewCharset
	viewHex
	viewBase64
)

// parseEncoding reads an --encoding value; cs is set for a charset.
func parseEncoding(name string) (viewKind, *ioutil.Charset, error) {
	switch strings.ToLower(name) {
	case "", "raw":
		return viewRaw, nil, nil
	case "hex":
		return viewHex, nil, nil
	case "base64":
		return viewBase64, nil, nil
	}
	cs, err := ioutil.LookupCharset(name)
	if err != nil {
		return viewRaw, nil, err
	}
	return viewCharset, cs, nil
}

// openViews applies -C, --delay, the encodings, -x, -o, -P and the digests
// to stdio. Files are opened here, once the session exists; see openShared.
func openViews(ctx context.Context, cfg *Config, stdio Stdio) (*views, error) {
	v := &views{In: stdio.In, Out: stdio.Out}
	opt := cfg.Views
	kind, cs, err := parseEncoding(opt.Encoding)
	if err != nil {
		return nil, err // checkViews already refused it
	}
	in, stdinCount, total, framed := stdinSide(ctx, cfg, stdio, kind)
	out, files, err := stdoutSide(cfg, stdio)
	if err != nil {
		return nil, err
	}
	in, out = v.encode(cfg, stdio, kind, cs, in, out)
	in, out, files, meter, err := v.observe(cfg, stdio, in, out, files, stdinCount, total)
	if err != nil {
		closeAll(files)
		return nil, err
	}
	v.closers = append(v.closers, files...)
	if meter != nil {
		v.closers = append(v.closers, func() error { meter.Stop(); return nil })
	}
	if framed {
		in = lineFramed{in}
	}
	v.In, v.Out = in, out
	return v, nil
}

// stdinSide is the text level of stdin: the -P input counter, --delay and
// the line framing of datagrams, -C.
func stdinSide(ctx context.Context, cfg *Config, stdio Stdio, kind viewKind) (in io.Reader, stdinCount *ioutil.Counter, total int64, framed bool) {
	opt := cfg.Views
	in = stdio.In
	total = -1
	if opt.Progress && cfg.StderrTTY && !cfg.Stream.RecvOnly {
		if f, ok := stdio.In.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				total = fi.Size()
				stdinCount = &ioutil.Counter{}
				in = ioutil.ObserveReader(in, stdinCount.Observe)
			}
		}
	}
	framed = cfg.Stream.Delay > 0
	if cfg.Stream.Delay > 0 {
		in = ioutil.NewLineDelayReader(ctx, in, cfg.Stream.Delay, cfg.Net.Buffer())
	} else if cfg.UDP && (kind == viewHex || kind == viewBase64 || kind == viewCharset && (cfg.StdinTTY || cfg.Stream.Lines)) {
		// One datagram per input line, cut before the line is encoded.
		in = ioutil.NewLineDelayReader(ctx, in, 0, cfg.Net.Buffer())
		framed = true
	}
	if cfg.Stream.CRLF {
		in = ioutil.NewCRLFReader(in)
	}

	return in, stdinCount, total, framed
}

// stdoutSide is the text level of stdout: the -o copy.
func stdoutSide(cfg *Config, stdio Stdio) (io.Writer, []func() error, error) {
	opt := cfg.Views
	out := stdio.Out
	var files []func() error
	if opt.Output != "" {
		f, err := openShared(cfg, opt.Output, opt.AppendOutput)
		if err != nil {
			return nil, nil, err
		}
		out = ioutil.TeeWriter(out, f)
		files = append(files, closeNamed("-o", opt.Output, f))
	}

	return out, files, nil
}

// encode puts the --encoding encoder on in and its decoder on out.
func (v *views) encode(cfg *Config, stdio Stdio, kind viewKind, cs *ioutil.Charset, in io.Reader, out io.Writer) (io.Reader, io.Writer) {
	opt := cfg.Views
	switch kind {
	case viewCharset:
		in = ioutil.NewEncodeReader(in, cs, opt.EncodingErrors == "replace")
		dw := ioutil.NewDecodeWriter(out, cs, cfg.UDP, func(from, to int64) {
			warnf(stdio, "received bytes that are not valid %s (in bytes %d-%d); shown as U+FFFD", cs.Name, from, to)
		})
		out = dw
		v.closers = append(v.closers, dw.Close)
	case viewHex:
		in = ioutil.NewHexReader(in)
		tw := ioutil.NewHexWriter(out, cfg.UDP)
		out = tw
		v.closers = append(v.closers, tw.Close)
	case viewBase64:
		in = ioutil.NewBase64Reader(in)
		tw := ioutil.NewBase64Writer(out, cfg.UDP)
		out = tw
		v.closers = append(v.closers, tw.Close)
	}

	return in, out
}

// observe puts the wire-level observers (-x, --sha256, -P) on in and out.
func (v *views) observe(cfg *Config, stdio Stdio, in io.Reader, out io.Writer, files []func() error, stdinCount *ioutil.Counter, total int64) (io.Reader, io.Writer, []func() error, *ioutil.Meter, error) {
	opt := cfg.Views
	var sentObs, recvObs []ioutil.Observer
	if opt.Hexdump != "" {
		var w io.Writer = stdio.Err
		if opt.Hexdump != "-" {
			f, err := openShared(cfg, opt.Hexdump, false)
			if err != nil {
				return nil, nil, files, nil, err
			}
			w = f
			files = append(files, closeNamed("-x", opt.Hexdump, f))
		}
		h := ioutil.NewHexdump(w)
		sentObs = append(sentObs, func(p []byte) { h.Dump(ioutil.Sent, p) })
		recvObs = append(recvObs, func(p []byte) { h.Dump(ioutil.Received, p) })
		v.closers = append(v.closers, func() error {
			if err := h.Err(); err != nil {
				return fmt.Errorf("hexdump log %s: %w", opt.Hexdump, err)
			}
			return nil
		})
	}
	if opt.SHA256 {
		v.sentSum, v.recvSum = ioutil.NewDigest(), ioutil.NewDigest()
		sentObs = append(sentObs, v.sentSum.Observe)
		recvObs = append(recvObs, v.recvSum.Observe)
	}
	var meter *ioutil.Meter
	if opt.Progress && cfg.StderrTTY {
		sent, recv := &ioutil.Counter{}, &ioutil.Counter{}
		sentObs = append(sentObs, sent.Observe)
		recvObs = append(recvObs, recv.Observe)
		if stdinCount == nil {
			stdinCount = sent
		}
		meter = ioutil.StartMeter(stdio.Err, total, sent, recv, stdinCount)
	}
	if fn := ioutil.Observers(sentObs...); fn != nil {
		in = ioutil.ObserveReader(in, fn)
	}
	if fn := ioutil.Observers(recvObs...); fn != nil {
		out = ioutil.ObserveWriter(out, fn)
	}
	return in, out, files, meter, nil
}

// lineFramed marks a views reader that returns at most one input line per
// Read, so the datagram loop sends each Read as it is.
type lineFramed struct{ io.Reader }

// framedByViews reports whether in already cuts its input into lines.
func framedByViews(in io.Reader) bool {
	_, ok := in.(lineFramed)
	return ok
}

// Close flushes and closes what openViews opened.
func (v *views) Close() error {
	var errs []error
	for _, f := range v.closers {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

func closeAll(fs []func() error) {
	for _, f := range fs {
		f()
	}
}

func closeNamed(flag, name string, f *os.File) func() error {
	return func() error {
		if err := f.Close(); err != nil {
			return fmt.Errorf("%s %s: %w", flag, name, reason(err))
		}
		return nil
	}
}

// opened remembers the files a process has already opened for -o and -x,
// so a second session of the same command (a listener's next client)
// appends instead of truncating what the first one wrote.
var opened = struct {
	sync.Mutex
	names map[string]bool
}{names: map[string]bool{}}

// openShared opens name for writing: truncated the first time (unless
// appendOnly), appended to afterwards.
func openShared(cfg *Config, name string, appendOnly bool) (*os.File, error) {
	opened.Lock()
	defer opened.Unlock()
	key := fmt.Sprintf("%p\x00%s", cfg, name)
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if !appendOnly && !opened.names[key] {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(name, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, reason(err))
	}
	opened.names[key] = true
	return f, nil
}

// checkViews validates the data-view options before any socket exists.
func checkViews(v ViewOptions) error {
	kind, _, err := parseEncoding(v.Encoding)
	if err != nil {
		return fmt.Errorf("invalid encoding %q (want raw, hex, base64 or a charset such as utf-8, latin1, utf-16le, shift_jis; see --encoding list)", v.Encoding)
	}
	switch v.EncodingErrors {
	case "", "strict":
	case "replace":
		if kind != viewCharset {
			return fmt.Errorf("--encoding-errors replace needs a charset --encoding, not %q", cmp.Or(v.Encoding, "raw"))
		}
	default:
		return fmt.Errorf("invalid --encoding-errors %q (want strict or replace)", v.EncodingErrors)
	}
	if v.Hexdump != "" && v.Hexdump == v.Output {
		return fmt.Errorf("-x and -o name the same file %q", v.Output)
	}
	return nil
}

// ListEncodings prints the names --encoding accepts, one per line: raw,
// hex and base64, then every charset.
func ListEncodings(w io.Writer) error {
	var b strings.Builder
	for _, n := range []string{"raw", "hex", "base64"} {
		b.WriteString(n + "\n")
	}
	for _, n := range ioutil.CharsetNames() {
		b.WriteString(n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
