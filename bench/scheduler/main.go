// Command scheduler benchmarks Berth's scheduling decision: the built-in
// policy (drf + dispersed by default) as Wasm under the policy host and as
// native Go, on a synthetic resource group (5,000 agents, 10,000 pending
// sessions). It prints one "name: value" line per figure:
//
//	placements_per_s_wasm, placements_per_s_native  placements / whole pure pass (validators, policy, re-check)
//	decide_ms_wasm, decide_ms_native                time inside the policy call
//	policy_compile_ms                               compiling the built-in module, fresh runtime, no cache
//	noop_call_us                                    one call of a do-nothing WAT policy (host overhead)
//
// Medians over -runs passes. The PostgreSQL commit of a plan is not included.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/manager/scheduler/schedtest"
	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/builtin"
	"github.com/berth-dev/berth/policies/host"
	"github.com/berth-dev/berth/policies/native"
)

func main() {
	agents := flag.Int("agents", 5000, "agents in the group")
	pending := flag.Int("pending", 10000, "pending sessions")
	owners := flag.Int("owners", 100, "session owners")
	runs := flag.Int("runs", 5, "passes per measurement (median reported)")
	policy := flag.String("policy", "drf-dispersed", "built-in policy: "+fmt.Sprint(builtin.Names()))
	flag.Parse()
	if err := run(*agents, *pending, *owners, *runs, *policy); err != nil {
		fmt.Fprintln(os.Stderr, "bench-scheduler:", err)
		os.Exit(1)
	}
}

func run(agents, pending, owners, runs int, policy string) error {
	ctx := context.Background()
	cfg, ok := builtin.Config(policy)
	if !ok {
		return fmt.Errorf("unknown built-in policy %q", policy)
	}

	compileStart := time.Now()
	cold, err := host.New(ctx, host.Options{})
	if err != nil {
		return err
	}
	if _, err := cold.Compile(ctx, builtin.Wasm); err != nil {
		return fmt.Errorf("compiling built-in policy: %w", err)
	}
	compile := time.Since(compileStart)
	_ = cold.Close(ctx)

	h, err := host.New(ctx, host.Options{})
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	wasm, err := h.Compile(ctx, builtin.Wasm)
	if err != nil {
		return fmt.Errorf("compiling built-in policy: %w", err)
	}
	noop, err := h.Compile(ctx, noopWasm)
	if err != nil {
		return fmt.Errorf("compiling no-op policy: %w", err)
	}
	noopUS, err := callTime(ctx, noop, &abi.Batch{}, 2000)
	if err != nil {
		return err
	}
	noopGoUS, err := callTime(ctx, wasm, &abi.Batch{}, 500)
	if err != nil {
		return err
	}

	in := schedtest.Synthetic(agents, pending, owners, 1)
	in.Config = cfg
	w, err := measure(ctx, wasm, in, runs)
	if err != nil {
		return fmt.Errorf("wasm: %w", err)
	}
	n, err := measure(ctx, native.Policy{}, in, runs)
	if err != nil {
		return fmt.Errorf("native: %w", err)
	}
	if w.placements != n.placements {
		return fmt.Errorf("wasm placed %d sessions, native %d", w.placements, n.placements)
	}

	fmt.Printf("policy: %s\n", policy)
	fmt.Printf("agents: %d\npending: %d\nplacements: %d\n", agents, pending, w.placements)
	fmt.Printf("placements_per_s_wasm: %.0f\n", float64(w.placements)/w.pass.Seconds())
	fmt.Printf("placements_per_s_native: %.0f\n", float64(n.placements)/n.pass.Seconds())
	fmt.Printf("policy_compile_ms: %.1f\n", ms(compile))
	fmt.Printf("noop_call_us: %.1f\n", noopUS)
	fmt.Printf("noop_call_go_us: %.1f\n", noopGoUS)
	fmt.Printf("decide_ms_wasm: %.1f\n", ms(w.decide))
	fmt.Printf("decide_ms_native: %.1f\n", ms(n.decide))
	fmt.Printf("schedule_ms_wasm: %.1f\n", ms(w.pass))
	fmt.Printf("schedule_ms_native: %.1f\n", ms(n.pass))
	return nil
}

type result struct {
	placements   int
	decide, pass time.Duration
}

// measure runs runs passes and returns the medians.
func measure(ctx context.Context, p scheduler.Policy, in scheduler.Input, runs int) (result, error) {
	var decide, pass []time.Duration
	var r result
	for range max(runs, 1) {
		start := time.Now()
		plan, err := scheduler.Schedule(ctx, p, in)
		if err != nil {
			return r, err
		}
		pass = append(pass, time.Since(start))
		decide = append(decide, plan.DecideTime)
		if len(plan.Dropped) > 0 {
			return r, fmt.Errorf("%d picks dropped, e.g. %s", len(plan.Dropped), plan.Dropped[0].Reason)
		}
		r.placements = len(plan.Placements)
	}
	r.decide, r.pass = median(decide), median(pass)
	return r, nil
}

// callTime returns the mean time of one Decide call in microseconds.
func callTime(ctx context.Context, p scheduler.Policy, b *abi.Batch, n int) (float64, error) {
	if _, err := p.Decide(ctx, b); err != nil { // warm the instance pool
		return 0, err
	}
	start := time.Now()
	for range n {
		if _, err := p.Decide(ctx, b); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / float64(n), nil
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
