package resolve

// Default public servers, all in one place so they are easy to update.
// They were chosen from the public documentation of their operators and
// could not be checked from the machine this was written on (no internet);
// SOCKCAT_NO_EXTERNAL=1 empties every list.
var (
	// DefaultSTUN are STUN servers of two operators with different IPs, so
	// one socket's two answers tell the NAT mapping kind.
	DefaultSTUN = []string{
		"stun.l.google.com:19302",
		"stun1.l.google.com:19302",
		"stun.cloudflare.com:3478",
	}
	// DefaultDNSWhoami are DNS whoami sources, sent to IP literals where
	// possible so that a broken system resolver does not slow them down.
	DefaultDNSWhoami = []string{
		"google@ns1.google.com",
		"opendns@resolver1.opendns.com",
		"cloudflare@1.1.1.1",
		"cloudflare@2606:4700:4700::1111",
	}
	// DefaultHTTPEcho are HTTPS services that answer with the caller's
	// address in plain text. api.ipify.org has only A records and
	// api6.ipify.org only AAAA; icanhazip.com has both.
	DefaultHTTPEcho = []string{
		"https://api.ipify.org",
		"https://api6.ipify.org",
		"https://icanhazip.com",
	}
)
