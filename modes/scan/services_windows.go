package scan

import (
	"os"
	"path/filepath"
)

// defaultServicesPath is Windows' copy of the services database, in the
// same format as /etc/services.
func defaultServicesPath() string {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	return filepath.Join(root, "System32", "drivers", "etc", "services")
}
