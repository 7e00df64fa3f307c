//go:build unix

package scan

import "golang.org/x/sys/unix"

// poller waits for readiness of the sockets of one worker of the socket
// engine: epoll on Linux, poll(2) everywhere else on Unix (and on Linux
// when the portable engine is chosen).
type poller interface {
	// add watches fd for writability (out) or readability.
	add(fd int, out bool) error
	// del stops watching fd, which stays open.
	del(fd int)
	// forget stops watching fd, which is about to be closed.
	forget(fd int)
	// wait fills ready with descriptors that are ready or in error and
	// returns how many; msec < 0 waits without a limit.
	wait(ready []int, msec int) (int, error)
	close()
}

// pollPoller is a poller over poll(2): a slice of pollfd and the position
// of each descriptor in it. A worker watches at most a few hundred
// sockets, and on loopback most probes finish before they are watched, so
// the linear scan of poll(2) costs little.
type pollPoller struct {
	fds []unix.PollFd
	pos map[int]int
}

func newPollPoller() (poller, error) {
	return &pollPoller{pos: make(map[int]int)}, nil
}

func (p *pollPoller) add(fd int, out bool) error {
	ev := int16(unix.POLLIN)
	if out {
		ev = unix.POLLOUT
	}
	p.pos[fd] = len(p.fds)
	p.fds = append(p.fds, unix.PollFd{Fd: int32(fd), Events: ev})
	return nil
}

func (p *pollPoller) del(fd int) {
	i, ok := p.pos[fd]
	if !ok {
		return
	}
	last := len(p.fds) - 1
	if i != last {
		p.fds[i] = p.fds[last]
		p.pos[int(p.fds[i].Fd)] = i
	}
	p.fds = p.fds[:last]
	delete(p.pos, fd)
}

func (p *pollPoller) forget(fd int) { p.del(fd) }

func (p *pollPoller) wait(ready []int, msec int) (int, error) {
	if _, err := unix.Poll(p.fds, msec); err != nil {
		return 0, err
	}
	n := 0
	for i := range p.fds {
		if p.fds[i].Revents != 0 && n < len(ready) {
			ready[n] = int(p.fds[i].Fd)
			n++
			p.fds[i].Revents = 0
		}
	}
	return n, nil
}

func (p *pollPoller) close() {}
