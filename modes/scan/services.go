package scan

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// servicesPath is the system's services database (services(5)); see
// services_*.go.
var servicesPath = defaultServicesPath()

// services maps "port/proto" to the first name the database gives it.
var services = sync.OnceValue(func() map[string]string {
	f, err := os.Open(servicesPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseServices(f)
})

// ServiceName is the name the system's services database gives port/proto
// ("ssh" for 22, "tcp"), or "" when it has none.
func ServiceName(port uint16, proto string) string {
	return services()[strconv.Itoa(int(port))+"/"+proto]
}

// parseServices reads services(5): "name port/proto [aliases…] [# comment]".
// The first name given to a port wins, as in getservbyport(3).
func parseServices(r io.Reader) map[string]string {
	m := make(map[string]string)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		port, proto, ok := strings.Cut(f[1], "/")
		n, err := strconv.Atoi(port)
		if !ok || err != nil || n < 1 || n > 65535 || !allDigits(port) {
			continue
		}
		key := strconv.Itoa(n) + "/" + strings.ToLower(proto)
		if _, dup := m[key]; !dup {
			m[key] = f[0]
		}
	}
	return m
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
