package modes

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConnectTimeout: -w bounds a connect to an address that drops SYNs;
// the error says it timed out and names the address; exit status 1 (not a
// usage error).
func TestConnectTimeout(t *testing.T) {
	port := blackholePort(t)
	cfg := baseConfig()
	cfg.Host = "127.0.0.1"
	cfg.Port = port
	cfg.Net.Timeout = 300 * time.Millisecond
	start := time.Now()
	err := Run(context.Background(), cfg, Stdio{In: strings.NewReader("x"), Out: io.Discard, Err: io.Discard})
	el := time.Since(start)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error = %v, want a timeout", err)
	}
	want := "connect 127.0.0.1:" + strconv.Itoa(port) + ": timed out"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if el < 250*time.Millisecond || el > 5*time.Second {
		t.Errorf("connect gave up after %v, want about 300ms", el)
	}
}

// TestConnectRetry: --retry tries again after a timeout, pausing
// --retry-delay, and reports the last error.
func TestConnectRetryTimeout(t *testing.T) {
	port := blackholePort(t)
	cfg := baseConfig()
	cfg.Host = "127.0.0.1"
	cfg.Port = port
	cfg.Net.Timeout = 100 * time.Millisecond
	cfg.Net.Retry = 2
	cfg.Net.RetryDelay = 50 * time.Millisecond
	cfg.Verbose = true
	var stderr lockedBuffer
	start := time.Now()
	err := Run(context.Background(), cfg, Stdio{In: strings.NewReader(""), Out: io.Discard, Err: &stderr})
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error = %v, want a timeout", err)
	}
	if el := time.Since(start); el < 3*100*time.Millisecond+2*50*time.Millisecond {
		t.Errorf("3 attempts took only %v", el)
	}
	if n := strings.Count(stderr.String(), "retrying"); n != 2 {
		t.Errorf("stderr has %d retry lines, want 2:\n%s", n, stderr.String())
	}
}
