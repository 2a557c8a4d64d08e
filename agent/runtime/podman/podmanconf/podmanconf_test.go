package podmanconf

import (
	"strings"
	"testing"
)

func TestContainersConf(t *testing.T) {
	c := ContainersConf()
	for _, want := range []string{`runtime = "runc"`, `cgroup_manager = "cgroupfs"`, `events_logger = "file"`,
		"default_ulimits", "nproc=", `network_backend = "netavark"`} {
		if !strings.Contains(c, want) {
			t.Errorf("containers.conf lacks %s:\n%s", want, c)
		}
	}
	if strings.Contains(c, "nproc=4") && !strings.Contains(c, "nproc=32768") && hardNproc() == 0 {
		t.Errorf("nproc not capped at 32768:\n%s", c)
	}
}
