// Package resources discovers what a worker node offers: CPU cores, memory,
// NUMA nodes and NVIDIA GPUs (through NVML; a node without NVML or a driver
// simply has 0 GPUs).
package resources

import (
	"bufio"
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/api"
)

// Capacity is what a node offers.
type Capacity struct {
	// CPU in cores: the online CPUs, or fewer when a cgroup quota says so.
	CPU float64
	// Mem in bytes: MemTotal, or less when a cgroup limit says so.
	Mem       int64
	NUMANodes int
	GPUs      []api.GPU
	// GPUInfo says how GPUs were detected, e.g. "NVML library not found: 0 GPUs".
	GPUInfo string
}

// Resources returns the capacity as api.Resources.
func (c Capacity) Resources() api.Resources {
	return api.Resources{CPU: c.CPU, Mem: c.Mem, GPU: len(c.GPUs)}
}

// Discover looks the node over. It never fails: what it cannot read it
// reports as the safest guess (and logs).
func Discover(log *slog.Logger) Capacity {
	c := Capacity{
		CPU:       cpuCores(goruntime.NumCPU(), "/"),
		NUMANodes: numaNodes("/sys/devices/system/node"),
	}
	mem, err := memTotal("/proc/meminfo")
	if err != nil {
		log.Warn("reading total memory", "err", err)
	}
	if lim := cgroupMemLimit("/"); lim > 0 && (mem == 0 || lim < mem) {
		mem = lim
	}
	c.Mem = mem
	c.GPUs, c.GPUInfo = discoverGPUs(log)
	return c
}

// readInt reads a file holding one integer (or "max"); ok is false when the
// file is missing, unreadable or unlimited.
func readInt(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n, err == nil
}

// cpuCores returns online, lowered to the cgroup CPU quota under root when
// one is set (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us).
func cpuCores(online int, root string) float64 {
	cores := float64(online)
	quota, period := int64(-1), int64(0)
	if data, err := os.ReadFile(filepath.Join(root, "sys/fs/cgroup/cpu.max")); err == nil {
		f := strings.Fields(string(data))
		if len(f) == 2 && f[0] != "max" {
			quota, _ = strconv.ParseInt(f[0], 10, 64)
			period, _ = strconv.ParseInt(f[1], 10, 64)
		}
	} else {
		for _, dir := range []string{"sys/fs/cgroup/cpu", "sys/fs/cgroup/cpu,cpuacct"} {
			q, ok1 := readInt(filepath.Join(root, dir, "cpu.cfs_quota_us"))
			p, ok2 := readInt(filepath.Join(root, dir, "cpu.cfs_period_us"))
			if ok1 && ok2 {
				quota, period = q, p
				break
			}
		}
	}
	if quota > 0 && period > 0 {
		if q := float64(quota) / float64(period); q < cores {
			cores = float64(int64(q*1000)) / 1000
		}
	}
	return cores
}

// memTotal reads MemTotal from a /proc/meminfo file, in bytes.
func memTotal(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("MemTotal:")) {
			continue
		}
		fields := strings.Fields(string(line[len("MemTotal:"):]))
		if len(fields) == 0 {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, &os.PathError{Op: "parsing MemTotal", Path: path, Err: err}
		}
		return kb * 1024, nil
	}
	return 0, &os.PathError{Op: "reading MemTotal", Path: path, Err: os.ErrNotExist}
}

// cgroupMemLimit returns the cgroup memory limit under root, 0 if none.
func cgroupMemLimit(root string) int64 {
	for _, p := range []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		// v1 reports "no limit" as a huge number near 2^63.
		if n, ok := readInt(filepath.Join(root, p)); ok && n > 0 && n < 1<<60 {
			return n
		}
	}
	return 0
}

// numaNodes counts the node<N> directories under dir (1 if there are none).
func numaNodes(dir string) int {
	entries, err := os.ReadDir(dir)
	n := 0
	if err == nil {
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, "node") {
				if _, err := strconv.Atoi(name[len("node"):]); err == nil {
					n++
				}
			}
		}
	}
	if n == 0 {
		return 1
	}
	return n
}

// pciNUMANode reads the NUMA node of a PCI device from sysfs; busID is
// NVML's form, e.g. "00000000:3B:00.0". It returns -1 when unknown.
func pciNUMANode(sysfs, busID string) int {
	busID = strings.ToLower(strings.TrimSpace(busID))
	// sysfs names use a 4-digit domain: 0000:3b:00.0.
	if i := strings.IndexByte(busID, ':'); i > 4 {
		busID = busID[i-4:]
	}
	n, ok := readInt(filepath.Join(sysfs, "bus/pci/devices", busID, "numa_node"))
	if !ok || n < 0 {
		return -1
	}
	return int(n)
}
