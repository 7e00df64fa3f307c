package modes

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sockcat/sockcat/ioutil"
)

// views is the stdio side of a session after the data-view flags are
// applied. With none set, In and Out are stdio's own reader and writer,
// unwrapped, so the zero-copy paths stay on.
//
// For datagram sessions each Read of In becomes one datagram, and each
// datagram received is one Write to Out.
type views struct {
	In  io.Reader
	Out io.Writer

	closers []func() error // run by Close, in order
}

// openViews applies -C and --delay (and, as they land, the encodings, -x, -o,
// -P and digests) to stdio.
func openViews(ctx context.Context, cfg *Config, stdio Stdio) (*views, error) {
	v := &views{In: stdio.In, Out: stdio.Out}
	if cfg.Stream.Delay > 0 {
		v.In = ioutil.NewLineDelayReader(ctx, v.In, cfg.Stream.Delay, cfg.Net.Buffer())
	}
	if cfg.Stream.CRLF {
		v.In = ioutil.NewCRLFReader(v.In)
	}
	return v, nil
}

// Close flushes and closes what openViews opened.
func (v *views) Close() error {
	var errs []error
	for _, f := range v.closers {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// checkViews validates the data-view options before any socket exists.
func checkViews(v ViewOptions) error {
	if v.Encoding != "" && v.Encoding != "raw" {
		return fmt.Errorf("invalid encoding %q (want raw; see --encoding list)", v.Encoding)
	}
	switch v.EncodingErrors {
	case "", "strict", "replace":
	default:
		return fmt.Errorf("invalid --encoding-errors %q (want strict or replace)", v.EncodingErrors)
	}
	return nil
}

// ListEncodings prints the names --encoding accepts, one per line.
func ListEncodings(w io.Writer) error {
	_, err := fmt.Fprintln(w, "raw")
	return err
}
