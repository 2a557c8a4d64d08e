package scheduler

import (
	"strconv"
	"strings"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/policies/abi"
)

// Free returns the agent's unused capacity.
func (a Agent) Free() api.Resources { return a.Capacity.Sub(a.Used) }

// Fits reports whether req fits in the agent's free capacity.
func Fits(req api.Resources, a Agent) bool { return req.Fits(a.Free()) }

// ToABI converts resources to the policy ABI's integer units.
func ToABI(r api.Resources) abi.Resources {
	return abi.Resources{CPUMilli: r.CPUMilli(), Mem: r.Mem, GPU: int64(r.GPU)}
}

// Describe formats resources for people, e.g. "2 CPU, 4 GiB memory, 1 GPU".
func Describe(r api.Resources) string {
	return describeABI(ToABI(r))
}

func describeABI(r abi.Resources) string {
	return formatCPU(r.CPUMilli) + " CPU, " + formatMem(r.Mem) + " memory, " + formatGPU(r.GPU)
}

func formatCPU(milli int64) string {
	return strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64)
}

func formatMem(b int64) string {
	units := []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if b >= u.size || -b >= u.size {
			s := strconv.FormatFloat(float64(b)/float64(u.size), 'f', 2, 64)
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
			return s + " " + u.name
		}
	}
	return strconv.FormatInt(b, 10) + " B"
}

func formatGPU(n int64) string {
	if n == 1 {
		return "1 GPU"
	}
	return strconv.FormatInt(n, 10) + " GPUs"
}

// amounts is a per-agent amount of resources (capacity or free capacity)
// with its per-resource maxima.
type amounts struct {
	each []abi.Resources
	most abi.Resources
	free bool // the amounts are free capacity (for messages)
}

func newAmounts(each []abi.Resources, free bool) amounts {
	am := amounts{each: each, free: free}
	for _, a := range each {
		am.most.CPUMilli = max(am.most.CPUMilli, a.CPUMilli)
		am.most.Mem = max(am.most.Mem, a.Mem)
		am.most.GPU = max(am.most.GPU, a.GPU)
	}
	return am
}

// unfit explains why req fits none of the agents' amounts, or returns ""
// if some agent fits it. The per-resource maxima answer most cases; only a
// request that passes all three scans the agents (until one fits).
func unfit(group string, req abi.Resources, am amounts) string {
	most, free := am.most, am.free
	suffix, largest := "", "largest"
	if free {
		suffix, largest = " free", "largest free"
	}
	prefix := "no agent in group " + group + " has "
	switch {
	case req.CPUMilli > most.CPUMilli:
		return prefix + formatCPU(req.CPUMilli) + " CPU" + suffix + " (" + largest + ": " + formatCPU(most.CPUMilli) + ")"
	case req.Mem > most.Mem:
		return prefix + formatMem(req.Mem) + " memory" + suffix + " (" + largest + ": " + formatMem(most.Mem) + ")"
	case req.GPU > most.GPU:
		return prefix + formatGPU(req.GPU) + suffix + " (" + largest + ": " + strconv.FormatInt(most.GPU, 10) + ")"
	}
	for _, a := range am.each {
		if req.Fits(a) {
			return ""
		}
	}
	return prefix + describeABI(req) + suffix + " at the same time"
}

// invalid rejects requests no agent could ever meaningfully hold.
func invalid(r abi.Resources) string {
	switch {
	case r.CPUMilli < 0:
		return "invalid resource request: negative CPU"
	case r.Mem < 0:
		return "invalid resource request: negative memory"
	case r.GPU < 0:
		return "invalid resource request: negative GPUs"
	}
	return ""
}
