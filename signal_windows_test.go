package main

import (
	"syscall"
	"testing"
)

// interruptSelf would send sig to this test process; Windows has no kill(2).
func interruptSelf(t *testing.T, sig syscall.Signal) {
	t.Skipf("sending %v to this process needs kill(2): this test runs on Unix", sig)
}
