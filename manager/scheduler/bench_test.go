package scheduler_test

import (
	"context"
	"testing"

	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/manager/scheduler/schedtest"
	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/native"
)

// benchDecide measures one policy call on drf+dispersed with 5,000 agents
// and 10,000 pending sessions, and reports placements per second.
func benchDecide(b *testing.B, p scheduler.Policy) {
	batch := scheduler.BuildBatch(schedtest.Synthetic(5000, 10000, 100, 1))
	var d *abi.Decision
	var err error
	b.ResetTimer()
	for b.Loop() {
		if d, err = p.Decide(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(d.Picks))*float64(b.N)/b.Elapsed().Seconds(), "placements/s")
}

func BenchmarkDecideWasm(b *testing.B)   { benchDecide(b, builtinModule(b)) }
func BenchmarkDecideNative(b *testing.B) { benchDecide(b, native.Policy{}) }

// BenchmarkScheduleWasm is the whole pure pass: validators, batch, policy,
// re-check.
func BenchmarkScheduleWasm(b *testing.B) {
	m := builtinModule(b)
	in := schedtest.Synthetic(5000, 10000, 100, 1)
	for b.Loop() {
		if _, err := scheduler.Schedule(context.Background(), m, in); err != nil {
			b.Fatal(err)
		}
	}
}
