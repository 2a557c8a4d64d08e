// Package schedtest builds scheduler inputs for tests and benchmarks.
package schedtest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/scheduler"
)

// Synthetic returns a deterministic resource group "bench" with the given
// numbers of agents (16-64 CPU, 64-256 GiB, every fourth with 4 GPUs, 0-50%
// used), pending sessions (0.5-4 CPU, 1-8 GiB, one in ten wanting a GPU,
// one in ten at priority 10) and owners (with some running usage). With
// the defaults used by the benchmarks nearly every session fits.
func Synthetic(agents, pending, owners int, seed uint64) scheduler.Input {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	in := scheduler.Input{
		Group:  "bench",
		Config: "sequencer=drf,selector=dispersed",
		Usage:  make(map[string]api.Resources, owners),
		Now:    now,
	}
	for i := range agents {
		c := api.Resources{CPU: float64(int(16) << rng.IntN(3)), Mem: int64(64<<rng.IntN(3)) << 30}
		if i%4 == 0 {
			c.GPU = 4
		}
		u := api.Resources{CPU: float64(rng.IntN(int(c.CPU)/2 + 1)), Mem: rng.Int64N(c.Mem/2 + 1), GPU: rng.IntN(c.GPU/2 + 1)}
		in.Agents = append(in.Agents, scheduler.Agent{ID: fmt.Sprintf("agent-%05d", i), Capacity: c, Used: u, Sessions: rng.IntN(8)})
	}
	ownerID := func(o int) string { return fmt.Sprintf("user-%04d", o) }
	for o := range owners {
		in.Usage[ownerID(o)] = api.Resources{CPU: float64(rng.IntN(32)), Mem: int64(rng.IntN(64)) << 30, GPU: rng.IntN(3)}
	}
	for i := range pending {
		r := api.Resources{CPU: float64(1+rng.IntN(8)) / 2, Mem: int64(1+rng.IntN(8)) << 30}
		if rng.IntN(10) == 0 {
			r.GPU = 1
		}
		p := scheduler.Pending{
			ID:        fmt.Sprintf("sess-%06d", i),
			OwnerID:   ownerID(rng.IntN(max(owners, 1))),
			CreatedAt: now.Add(-time.Duration(rng.IntN(3600_000)) * time.Millisecond),
			Request:   r,
		}
		if rng.IntN(10) == 0 {
			p.Priority = 10
		}
		in.Pending = append(in.Pending, p)
	}
	return in
}
