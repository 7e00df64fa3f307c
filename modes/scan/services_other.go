//go:build !windows

package scan

// defaultServicesPath is services(5) on Linux, macOS and the BSDs.
func defaultServicesPath() string { return "/etc/services" }
