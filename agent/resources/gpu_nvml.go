//go:build cgo && linux

package resources

import (
	"fmt"
	"log/slog"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/berth-dev/berth/api"
)

// discoverGPUs lists NVIDIA GPUs through NVML. A node without the NVML
// library or the driver has 0 GPUs, and says so in info.
func discoverGPUs(log *slog.Logger) (gpus []api.GPU, info string) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("NVML panicked; reporting 0 GPUs", "panic", r)
			gpus, info = nil, fmt.Sprintf("NVML failed (%v): 0 GPUs", r)
		}
	}()
	lib := nvml.New()
	switch ret := lib.Init(); ret {
	case nvml.SUCCESS:
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return nil, "NVML library not found: 0 GPUs"
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return nil, "NVIDIA driver not loaded: 0 GPUs"
	default:
		return nil, fmt.Sprintf("NVML init failed (%s): 0 GPUs", lib.ErrorString(ret))
	}
	defer lib.Shutdown()
	count, ret := lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Sprintf("NVML device count failed (%s): 0 GPUs", lib.ErrorString(ret))
	}
	for i := 0; i < count; i++ {
		d, ret := lib.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			log.Warn("reading GPU", "index", i, "err", lib.ErrorString(ret))
			continue
		}
		g := api.GPU{Index: i, NUMANode: -1}
		g.UUID, _ = d.GetUUID()
		g.Name, _ = d.GetName()
		if mem, ret := d.GetMemoryInfo(); ret == nvml.SUCCESS {
			g.MemBytes = int64(mem.Total)
		}
		if n, ret := d.GetNumaNodeId(); ret == nvml.SUCCESS {
			g.NUMANode = n
		} else if pci, ret := d.GetPciInfo(); ret == nvml.SUCCESS {
			g.NUMANode = pciNUMANode("/sys", cString(pci.BusId[:]))
		}
		gpus = append(gpus, g)
	}
	driver, _ := lib.SystemGetDriverVersion()
	return gpus, fmt.Sprintf("NVML (driver %s): %d GPUs", driver, len(gpus))
}

// cString converts a NUL-terminated C char array.
func cString(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
