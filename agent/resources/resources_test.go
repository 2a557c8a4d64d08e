package resources

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles creates files (path -> content) under a temp root.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCPUCores(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		online int
		want   float64
	}{
		{"no cgroup files", nil, 8, 8},
		{"v2 unlimited", map[string]string{"sys/fs/cgroup/cpu.max": "max 100000\n"}, 8, 8},
		{"v2 quota", map[string]string{"sys/fs/cgroup/cpu.max": "250000 100000\n"}, 8, 2.5},
		{"v2 quota above online", map[string]string{"sys/fs/cgroup/cpu.max": "1600000 100000\n"}, 8, 8},
		{"v1 unlimited", map[string]string{"sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n", "sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n"}, 4, 4},
		{"v1 quota", map[string]string{"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "150000\n", "sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 4, 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuCores(tt.online, writeFiles(t, tt.files)); got != tt.want {
				t.Errorf("cpuCores = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMemory(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"meminfo":                        "MemTotal:       16318480 kB\nMemFree:         1000 kB\n",
		"bad":                            "MemFree: 1 kB\n",
		"v2/sys/fs/cgroup/memory.max":    "1073741824\n",
		"v2max/sys/fs/cgroup/memory.max": "max\n",
		"v1/sys/fs/cgroup/memory/memory.limit_in_bytes":  "9223372036854771712\n",
		"v1l/sys/fs/cgroup/memory/memory.limit_in_bytes": "536870912\n",
	})
	if got, err := memTotal(filepath.Join(root, "meminfo")); err != nil || got != 16318480*1024 {
		t.Errorf("memTotal = %d, %v", got, err)
	}
	if _, err := memTotal(filepath.Join(root, "bad")); err == nil {
		t.Error("memTotal without MemTotal: no error")
	}
	limits := map[string]int64{"v2": 1 << 30, "v2max": 0, "v1": 0, "v1l": 512 << 20, "none": 0}
	for dir, want := range limits {
		if got := cgroupMemLimit(filepath.Join(root, dir)); got != want {
			t.Errorf("cgroupMemLimit(%s) = %d, want %d", dir, got, want)
		}
	}
}

func TestNUMA(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"two/node0/cpulist": "0-3",
		"two/node1/cpulist": "4-7",
		"two/possible":      "0-1",
		"sys/bus/pci/devices/0000:3b:00.0/numa_node": "1\n",
		"sys/bus/pci/devices/0000:af:00.0/numa_node": "-1\n",
	})
	if got := numaNodes(filepath.Join(root, "two")); got != 2 {
		t.Errorf("numaNodes = %d, want 2", got)
	}
	if got := numaNodes(filepath.Join(root, "absent")); got != 1 {
		t.Errorf("numaNodes of a missing dir = %d, want 1", got)
	}
	tests := map[string]int{"00000000:3B:00.0": 1, "00000000:AF:00.0": -1, "00000000:01:00.0": -1}
	for bus, want := range tests {
		if got := pciNUMANode(filepath.Join(root, "sys"), bus); got != want {
			t.Errorf("pciNUMANode(%s) = %d, want %d", bus, got, want)
		}
	}
}

// TestDiscover runs the real discovery. On a machine without NVIDIA GPUs it
// must report 0 GPUs and say why, not fail.
func TestDiscover(t *testing.T) {
	c := Discover(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Logf("capacity: %+v", c)
	if c.CPU <= 0 || c.Mem <= 0 || c.NUMANodes < 1 {
		t.Errorf("capacity = %+v: want CPU, memory and NUMA nodes", c)
	}
	if c.GPUInfo == "" {
		t.Error("GPUInfo is empty")
	}
	if !strings.Contains(c.GPUInfo, "GPUs") {
		t.Errorf("GPUInfo = %q: want a GPU count", c.GPUInfo)
	}
	if _, err := os.Stat("/dev/nvidiactl"); err != nil {
		if len(c.GPUs) != 0 || !strings.HasSuffix(c.GPUInfo, ": 0 GPUs") {
			t.Errorf("no NVIDIA device here, got GPUs %v, info %q", c.GPUs, c.GPUInfo)
		}
	}
	if r := c.Resources(); r.GPU != len(c.GPUs) || r.CPU != c.CPU || r.Mem != c.Mem {
		t.Errorf("Resources() = %+v", r)
	}
}
