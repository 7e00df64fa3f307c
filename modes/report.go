package modes

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// report prints what a session asks for at its end, on stderr: the -v
// summary line ("sent 1.00 GiB, received 12 B in 1.31s (783.00 MiB/s)"),
// the --sha256 digests, and last the --stats-json object, so a script can
// take the last line.
func report(cfg *Config, stdio Stdio, v *views, conn net.Conn, st ioutil.Stats, d time.Duration, err error) {
	if cfg.Verbose {
		printLine(stdio.Err, "%s", summary(st, d))
	}
	var sent, recv *string
	if v != nil && v.sentSum != nil {
		s, _ := v.sentSum.Sum()
		r, _ := v.recvSum.Sum()
		sent, recv = ptr(hex.EncodeToString(s)), ptr(hex.EncodeToString(r))
		printLine(stdio.Err, "sha256 sent %s", *sent)
		printLine(stdio.Err, "sha256 received %s", *recv)
	}
	if cfg.Views.StatsJSON {
		s := newStats(cfg, conn, st, d, err)
		s.SHA256Sent, s.SHA256Received = sent, recv
		b, jerr := json.Marshal(s)
		if jerr == nil {
			fmt.Fprintf(stdio.Err, "%s\n", b)
		}
	}
}

// stats is the --stats-json object. No field is ever left out; a value that
// does not apply is null.
type stats struct {
	Schema          string    `json:"schema"`   // "sockcat.stats/v1"
	Protocol        string    `json:"protocol"` // tcp, udp, unix, unixgram, …
	Local           *string   `json:"local"`    // local address, null if unknown
	Remote          *string   `json:"remote"`   // peer address; null for a datagram listener
	BytesSent       int64     `json:"bytes_sent"`
	BytesReceived   int64     `json:"bytes_received"`
	DurationSeconds float64   `json:"duration_seconds"`
	SendRate        float64   `json:"send_bytes_per_second"`
	ReceiveRate     float64   `json:"receive_bytes_per_second"`
	SendComplete    bool      `json:"send_complete"` // all of stdin was read and sent
	Exit            string    `json:"exit"`          // ok, interrupted, idle-timeout or error
	Error           *string   `json:"error"`         // the error line, null on success
	SHA256Sent      *string   `json:"sha256_sent"`   // with --sha256, else null
	SHA256Received  *string   `json:"sha256_received"`
	P2P             *p2pStats `json:"p2p"` // --p2p: the path; null otherwise
}

func newStats(cfg *Config, conn net.Conn, st ioutil.Stats, d time.Duration, err error) stats {
	s := stats{
		Schema:          "sockcat.stats/v1",
		BytesSent:       st.Sent,
		BytesReceived:   st.Received,
		DurationSeconds: d.Seconds(),
		SendComplete:    st.SendDone,
		Exit:            exitReason(err),
	}
	if secs := d.Seconds(); secs > 0 {
		s.SendRate = float64(st.Sent) / secs
		s.ReceiveRate = float64(st.Received) / secs
	}
	if conn != nil {
		if a := conn.LocalAddr(); a != nil {
			s.Protocol = a.Network()
			s.Local = ptr(addrString(a))
		}
		if a := conn.RemoteAddr(); a != nil && !isNilAddr(a) {
			s.Remote = ptr(addrString(a))
		}
	}
	s.P2P = p2pStatsOf(conn)
	if s.Protocol == "" {
		s.Protocol = "tcp"
		if cfg.UDP {
			s.Protocol = "udp"
		}
	}
	if err != nil {
		s.Error = ptr(err.Error())
	}
	return s
}

// isNilAddr reports an interface holding a nil pointer (an unconnected
// socket's RemoteAddr).
func isNilAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a == nil
	case *net.TCPAddr:
		return a == nil
	case *net.UnixAddr:
		return a == nil
	}
	return false
}

// exitReason names how a session ended, for --stats-json.
func exitReason(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, ioutil.ErrIdle):
		return "idle-timeout"
	}
	return "error"
}

func ptr[T any](v T) *T { return &v }

// summary is the -v summary line without the prefix.
func summary(st ioutil.Stats, d time.Duration) string {
	secs := d.Seconds()
	rate := "0 B/s"
	if secs > 0 {
		rate = ioutil.FormatSize(int64(float64(st.Sent+st.Received)/secs)) + "/s"
	}
	return fmt.Sprintf("sent %s, received %s in %.2fs (%s)",
		ioutil.FormatSize(st.Sent), ioutil.FormatSize(st.Received), secs, rate)
}

// serverEnd is how a multi-client server ended, for report: its error, or
// the cause that stopped it unless that is a normal end (-q, stdout closed).
func serverEnd(result, cause error, quitted bool) error {
	switch {
	case result != nil:
		return result
	case quitted, cause == nil, errors.Is(cause, errStdoutGone):
		return nil
	}
	return cause
}
