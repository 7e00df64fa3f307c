//go:build linux

package scan

import "golang.org/x/sys/unix"

// epollPoller is a poller over one epoll set.
type epollPoller struct {
	ep     int
	events []unix.EpollEvent
}

func newEpollPoller() (poller, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &epollPoller{ep: ep}, nil
}

func (p *epollPoller) add(fd int, out bool) error {
	ev := uint32(unix.EPOLLIN)
	if out {
		ev = unix.EPOLLOUT
	}
	return unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: ev, Fd: int32(fd)})
}

func (p *epollPoller) del(fd int) { unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, fd, nil) }

// forget does nothing: closing the descriptor removes it from the set.
func (p *epollPoller) forget(int) {}

func (p *epollPoller) wait(ready []int, msec int) (int, error) {
	if len(p.events) < len(ready) {
		p.events = make([]unix.EpollEvent, len(ready))
	}
	n, err := unix.EpollWait(p.ep, p.events[:len(ready)], msec)
	for i := range max(n, 0) {
		ready[i] = int(p.events[i].Fd)
	}
	return max(n, 0), err
}

func (p *epollPoller) close() { unix.Close(p.ep) }
