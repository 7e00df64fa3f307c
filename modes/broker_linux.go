package modes

import "golang.org/x/sys/unix"

// directWrites: a long chunk is written straight to an idle client's
// socket from the sender's goroutine (see brokerDirectMin).
const directWrites = true

// writeNow writes what the socket takes without waiting (MSG_DONTWAIT), and
// never raises SIGPIPE (MSG_NOSIGNAL).
func (c *bclient) writeNow(p []byte) (int, error) {
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, e := unix.SendmsgN(int(fd), p[n:], nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
			switch e {
			case nil:
				n += m
				continue
			case unix.EINTR:
				continue
			case unix.EAGAIN:
			default:
				werr = e
			}
			break
		}
		return true // never wait for room: what is left is queued
	})
	if err == nil {
		err = werr
	}
	return n, err
}
