package modes

import (
	"net"
	"strings"
	"syscall"
)

// control returns the socket-option hook shared by dialers and listeners:
// --sndbuf, --rcvbuf, --ttl and -b are applied before bind/connect, so they
// cover the SYN and the first datagram too.
func control(cfg *Config) func(network, address string, c syscall.RawConn) error {
	n := cfg.Net
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			set := func(level, opt, v int) {
				if serr == nil {
					serr = setsockoptInt(fd, level, opt, v)
				}
			}
			if n.SndBuf > 0 {
				set(syscall.SOL_SOCKET, syscall.SO_SNDBUF, n.SndBuf)
			}
			if n.RcvBuf > 0 {
				set(syscall.SOL_SOCKET, syscall.SO_RCVBUF, n.RcvBuf)
			}
			if strings.HasPrefix(network, "udp") {
				// Go turns SO_BROADCAST on for every UDP socket; nc leaves it
				// off, so that a datagram to a broadcast address is refused
				// (EACCES) unless -b says it is meant.
				v := 0
				if n.Broadcast {
					v = 1
				}
				set(syscall.SOL_SOCKET, syscall.SO_BROADCAST, v)
			}
			if n.TTL > 0 {
				udp := strings.HasPrefix(network, "udp")
				if isIPv6Network(network, address) {
					set(syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS, n.TTL)
					if udp {
						set(syscall.IPPROTO_IPV6, syscall.IPV6_MULTICAST_HOPS, n.TTL)
					}
				} else {
					set(syscall.IPPROTO_IP, syscall.IP_TTL, n.TTL)
					if udp {
						set(syscall.IPPROTO_IP, syscall.IP_MULTICAST_TTL, n.TTL)
					}
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
}

func isIPv6Network(network, address string) bool {
	switch network {
	case "tcp6", "udp6":
		return true
	case "tcp4", "udp4":
		return false
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() == nil
}

// tuneTCP applies the options that act on a connected TCP socket.
func tuneTCP(cfg *Config, c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(cfg.Net.NoDelay)
	}
}
