//go:build !linux

package netinfo

import "runtime"

// v6FlagsUnknown is why IPv6 address flags (temporary, deprecated,
// tentative) are unknown off Linux: macOS and FreeBSD give them only
// through the SIOCGIFAFLAG_IN6 ioctl and Windows through
// GetAdaptersAddresses, and Go's net package reads neither
// (golang/go#42694).
var v6FlagsUnknown = "IPv6 address flags are not read on " + runtime.GOOS + " (Go's net package does not expose them)"
