package modes

import (
	"runtime"
	"strings"
	"testing"
)

func TestCheckUnixPath(t *testing.T) {
	tests := []struct {
		path      string
		linuxOnly bool
	}{
		{"/tmp/s.sock", false},
		{"relative.sock", false},
		{"dir/@notabstract", false},
		{"@abstract", true},
		{"@", true},
	}
	for _, tt := range tests {
		err := checkUnixPath(tt.path)
		want := tt.linuxOnly && runtime.GOOS != "linux"
		if (err != nil) != want {
			t.Errorf("checkUnixPath(%q) = %v on %s, want error %v", tt.path, err, runtime.GOOS, want)
		}
		if err != nil && !strings.Contains(err.Error(), "only on Linux") {
			t.Errorf("checkUnixPath(%q) = %q, want it to say abstract sockets are Linux-only", tt.path, err)
		}
	}
}
