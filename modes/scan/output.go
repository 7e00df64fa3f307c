package scan

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"syscall"
	"time"
)

// errStdoutClosed marks a write to a stdout whose reader has gone.
var errStdoutClosed = errors.New("stdout closed")

// output prints results: open ports on stdout (UDP: open and
// open|filtered), the rest on stderr when verbose, or JSON lines on stdout.
type output struct {
	opts  *Options
	multi bool // more than one address: lines start with the address
	out   *bufio.Writer
	err   *bufio.Writer
	json  *json.Encoder
	open  int
}

func newOutput(opts *Options, multi bool) *output {
	o := &output{opts: opts, multi: multi, out: bufio.NewWriter(opts.Stdout), err: bufio.NewWriter(opts.Stderr)}
	if opts.JSON {
		o.json = json.NewEncoder(o.out)
	}
	return o
}

// jsonLine is the JSON form of one port. Every field is always present;
// service and rtt_ms are null when unknown.
type jsonLine struct {
	Host    string   `json:"host"`
	Address string   `json:"address"`
	Port    uint16   `json:"port"`
	Proto   string   `json:"proto"`
	State   string   `json:"state"`
	Service *string  `json:"service"`
	Reason  string   `json:"reason"`
	RTTms   *float64 `json:"rtt_ms"`
}

// emit prints one result. Write errors surface at flush.
func (o *output) emit(t probe, r result) {
	if r.state == stateOpen {
		o.open++
	}
	shown := r.state == stateOpen || r.state == stateOpenFiltered
	if o.json == nil && !shown && !o.opts.Verbose {
		return // the common case of a big scan: a closed port, nothing to say
	}
	proto := protoName(o.opts.UDP)
	svc := ServiceName(t.port, proto)
	if o.json != nil {
		j := jsonLine{Host: o.opts.Host, Address: t.addr.String(), Port: t.port, Proto: proto, State: r.state, Reason: r.reason}
		if svc != "" {
			j.Service = &svc
		}
		if r.rtt > 0 {
			ms := math.Round(float64(r.rtt)/float64(time.Microsecond)) / 1000
			j.RTTms = &ms
		}
		o.json.Encode(j)
	}
	var b strings.Builder
	if o.multi {
		b.WriteString(t.addr.String())
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%d/%s %s", t.port, proto, r.state)
	if svc != "" {
		b.WriteString(" " + svc)
	}
	switch {
	case shown && o.json == nil:
		b.WriteByte('\n')
		o.out.WriteString(b.String())
	case !shown && o.opts.Verbose:
		fmt.Fprintf(o.err, "sockcat: %s (%s)\n", b.String(), r.reason)
	}
}

// flush writes what emit buffered. A stdout whose reader has gone is
// reported as errStdoutClosed.
func (o *output) flush() error {
	o.err.Flush()
	if err := o.out.Flush(); err != nil {
		if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) || isClosedPipe(err) {
			return errStdoutClosed
		}
		return fmt.Errorf("write stdout: %w", reasonOf(err))
	}
	return nil
}
