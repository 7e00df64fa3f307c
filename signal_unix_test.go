//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"
)

// interruptSelf sends sig to this test process, as a user's ^C or kill would.
func interruptSelf(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
}
