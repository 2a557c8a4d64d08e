// Package testnet finds free loopback ports for tests.
package testnet

import (
	"net"
	"strconv"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreePortRange returns n consecutive ports on 127.0.0.1 that were all
// free a moment ago.
func FreePortRange(t testing.TB, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		first := FreePort(t)
		if first+n > 65535 {
			continue
		}
		var lns []net.Listener
		ok := true
		for p := first; p < first+n; p++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if ok {
			return first
		}
	}
	t.Fatalf("finding %d free consecutive ports: none found", n)
	return 0
}
