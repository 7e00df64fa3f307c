package netinfo

// v6FlagsUnknown is why IPv6 address flags are unknown when
// /proc/net/if_inet6 could not be read.
const v6FlagsUnknown = "/proc/net/if_inet6 could not be read"
