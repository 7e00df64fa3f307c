package modes

import (
	"fmt"
	"net"
	"time"

	"github.com/sockcat/sockcat/ioutil"
)

// report prints the end-of-transfer summary on stderr under -v:
// "sent 1.00 GiB, received 12 B in 1.31s (783.00 MiB/s)".
func report(cfg *Config, stdio Stdio, v *views, conn net.Conn, st ioutil.Stats, d time.Duration, err error) {
	if !cfg.Verbose {
		return
	}
	fmt.Fprintf(stdio.Err, "sockcat: %s\n", summary(st, d))
}

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
