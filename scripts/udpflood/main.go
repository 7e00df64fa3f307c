// Command udpflood is the sender and the counter of scripts/bench-udp.sh: it
// floods a UDP listener on loopback with numbered datagrams, and counts and
// checks what the listener wrote to its stdout.
//
//	udpflood send  -addr HOST:PORT [-n 500000] [-size 1400] [-timeout 60s]
//	udpflood count [-size 1400] <listener-output
//	udpflood freeport                      (prints a free UDP port of 127.0.0.1)
//
// send writes n datagrams of size bytes as fast as the kernel takes them
// (each starts with its 8-byte sequence number, the rest is a pattern of
// that number) and prints one line:
//
//	sent=500000 size=1400 secs=1.234 rate=405186
//
// count reads the listener's output and prints how many whole datagrams of
// the flood it holds, in how many places it holds something else (a cut,
// merged or corrupted datagram; the count resynchronises on the next whole
// one), how many bytes those places span, and the number of distinct
// sequence numbers seen:
//
//	records=123456 bad=0 skipped=0 distinct=123456
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "send":
		err = send(os.Args[2:])
	case "count":
		err = count(os.Args[2:])
	case "freeport":
		err = freeport()
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "udpflood: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: udpflood send -addr HOST:PORT [-n N] [-size B] [-timeout D] | count [-size B] | freeport")
	os.Exit(2)
}

// fill writes datagram number seq into b: the number, then a pattern
// derived from it, so a record can be checked on its own.
func fill(b []byte, seq uint64) {
	binary.BigEndian.PutUint64(b, seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(seq) + byte(i)
	}
}

// valid reports whether b is a whole datagram of the flood, and its number.
func valid(b []byte, n uint64) (uint64, bool) {
	seq := binary.BigEndian.Uint64(b)
	if seq >= n {
		return seq, false
	}
	for i := 8; i < len(b); i++ {
		if b[i] != byte(seq)+byte(i) {
			return seq, false
		}
	}
	return seq, true
}

func send(args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	addr := fs.String("addr", "", "listener HOST:PORT")
	n := fs.Int("n", 500000, "datagrams to send")
	size := fs.Int("size", 1400, "datagram size in bytes (at least 8)")
	timeout := fs.Duration("timeout", 60*time.Second, "stop sending after this long")
	_ = fs.Parse(args)
	if *addr == "" || *size < 8 || *n < 1 {
		usage()
	}
	c, err := net.Dial("udp", *addr)
	if err != nil {
		return err
	}
	defer c.Close()
	b := make([]byte, *size)
	start := time.Now()
	deadline := start.Add(*timeout)
	sent := 0
	for ; sent < *n; sent++ {
		if sent%1024 == 0 && time.Now().After(deadline) {
			break
		}
		fill(b, uint64(sent))
		if _, err := c.Write(b); err != nil {
			// A refused send (no listener yet, ICMP) is a lost datagram,
			// like any other: keep the pace.
			var op *net.OpError
			if errors.As(err, &op) {
				continue
			}
			return err
		}
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("sent=%d size=%d secs=%.3f rate=%.0f\n", sent, *size, secs, float64(sent)/secs)
	return nil
}

func count(args []string) error {
	fs := flag.NewFlagSet("count", flag.ExitOnError)
	size := fs.Int("size", 1400, "datagram size in bytes")
	n := fs.Uint64("n", 1<<40, "datagrams sent (numbers at or above are malformed)")
	_ = fs.Parse(args)
	if *size < 8 {
		usage()
	}
	t, err := tally(os.Stdin, *size, *n)
	if err != nil {
		return err
	}
	fmt.Printf("records=%d bad=%d skipped=%d distinct=%d\n", t.records, t.bad, t.skipped, t.distinct)
	return nil
}

// counts is what [tally] found in a listener's output.
type counts struct {
	records  int // whole datagrams of the flood
	bad      int // places holding something else
	skipped  int // bytes those places span
	distinct int // distinct sequence numbers among the records
}

// tally reads r as datagrams of size bytes numbered below n; where the
// bytes are not one, it skips a byte at a time until they are again, so
// one cut or merged datagram does not hide the ones after it.
func tally(r io.Reader, size int, n uint64) (counts, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	seen := map[uint64]bool{}
	var c counts
	inBad := false
	for {
		b, err := br.Peek(size)
		if len(b) < size {
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				return c, err
			}
			c.skipped += len(b)
			if len(b) > 0 && !inBad {
				c.bad++
			}
			break
		}
		if seq, ok := valid(b, n); ok {
			seen[seq] = true
			c.records++
			inBad = false
			_, _ = br.Discard(size)
			continue
		}
		if !inBad {
			c.bad++
			inBad = true
		}
		c.skipped++
		_, _ = br.Discard(1)
	}
	c.distinct = len(seen)
	return c, nil
}

func freeport() error {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println(c.LocalAddr().(*net.UDPAddr).Port)
	return nil
}
