//go:build !cgo || !linux

package resources

import (
	"log/slog"

	"github.com/berth-dev/berth/api"
)

// discoverGPUs reports no GPUs: NVML needs cgo on Linux.
func discoverGPUs(log *slog.Logger) ([]api.GPU, string) {
	return nil, "built without cgo or not on Linux, no NVML: 0 GPUs"
}
