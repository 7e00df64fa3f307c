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
				set(solSocket, soSndbuf, n.SndBuf)
			}
			if n.RcvBuf > 0 {
				set(solSocket, soRcvbuf, n.RcvBuf)
			}
			if strings.HasPrefix(network, "udp") {
				// Go turns SO_BROADCAST on for every UDP socket; nc leaves it
				// off, so that a datagram to a broadcast address is refused
				// (EACCES) unless -b says it is meant.
				v := 0
				if n.Broadcast {
					v = 1
				}
				set(solSocket, soBroadcast, v)
			}
			if n.TTL > 0 {
				udp := strings.HasPrefix(network, "udp")
				if isIPv6Network(network, address) {
					set(ipprotoIPv6, ipv6UnicastHops, n.TTL)
					if udp {
						set(ipprotoIPv6, ipv6MulticastHops, n.TTL)
					}
				} else {
					set(ipprotoIP, ipTTL, n.TTL)
					if udp {
						set(ipprotoIP, ipMulticastTTL, n.TTL)
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
