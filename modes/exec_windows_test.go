package modes

import "os"

// syscallKill0 reports whether pid is gone: on Windows, by opening it.
func syscallKill0(pid int) error {
	p, err := os.FindProcess(pid)
	if err == nil {
		p.Release()
	}
	return err
}
