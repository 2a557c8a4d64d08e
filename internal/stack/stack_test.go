package stack

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testnet"
)

func TestPortRange(t *testing.T) {
	tests := []struct {
		in          string
		first, last int
		ok          bool
	}{
		{"10200-10299", 10200, 10299, true},
		{"10200", 10200, 10200, true},
		{"", 1, 0, true},
		{"10299-10200", 0, 0, false},
		{"a-b", 0, 0, false},
		{"0-5", 0, 0, false},
	}
	for _, tt := range tests {
		f, l, err := portRange(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (f != tt.first || l != tt.last)) {
			t.Errorf("portRange(%q) = %d, %d, %v", tt.in, f, l, err)
		}
	}
}

func TestPreflightNamesTheBusyPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	free := testnet.FreePort(t)
	r := strconv.Itoa(testnet.FreePortRange(t, 3))
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{EdgePort: busy, ManagerPort: free, AppPorts: r}, "--edge-port"},
		{Config{EdgePort: free, ManagerPort: busy, AppPorts: r}, "--manager-port"},
		{Config{EdgePort: free, ManagerPort: testnet.FreePort(t), AppPorts: strconv.Itoa(busy)}, "--app-ports"},
	}
	for _, c := range cases {
		err := preflight(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), strconv.Itoa(busy)) {
			t.Errorf("preflight(%+v) = %v, want an error naming port %d and %s", c.cfg, err, busy, c.want)
		}
	}
	if err := preflight(Config{EdgePort: free, ManagerPort: testnet.FreePort(t), AppPorts: r}); err != nil {
		t.Errorf("preflight with free ports: %v", err)
	}
}
