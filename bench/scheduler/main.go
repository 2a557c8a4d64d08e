// Command scheduler benchmarks Berth's scheduling pass (`make
// bench-scheduler`): one full pass as the manager runs it — snapshot from
// PostgreSQL, Go validators, the policy, the re-check, and the batched
// commit, in one transaction — over a synthetic resource group (5,000
// ALIVE agents, 10,000 pending sessions), with the built-in drf-dispersed
// policy as Wasm under the sandboxed host and as native Go. It starts a
// throwaway PostgreSQL (or uses -postgres URL, whose database it WIPES)
// and prints one "name: value" line per figure:
//
//	placements_per_s_wasm, placements_per_s_native  placements / whole pass, commit included
//	pass_ratio_wasm_over_native                     pass time, Wasm / native
//	pass_ms_*, snapshot_ms_*, schedule_ms_*         the pass and its parts
//	decide_ms_wasm, decide_ms_native                the policy call alone
//	commit_ms                                       writing the outcome (Wasm pass)
//	upload_to_active_ms                             compile (fresh runtime, no cache) + store + activate the ~2 MB built-in module
//	policy_compile_ms                               compiling that module, fresh runtime, no cache
//	noop_call_us                                    one call of a do-nothing WAT policy (the host's per-call overhead)
//
// Pass figures are medians over -runs passes, each on a freshly loaded
// database. The last four lines are placements_per_s_wasm,
// placements_per_s_native, policy_compile_ms and noop_call_us.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/berth-dev/berth/manager/database"
	"github.com/berth-dev/berth/manager/database/dbtest"
	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/manager/scheduler/schedtest"
	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/builtin"
	"github.com/berth-dev/berth/policies/host"
	"github.com/berth-dev/berth/policies/native"
)

type options struct {
	agents, pending, owners, runs int
	policy, postgres              string
}

func main() {
	var o options
	flag.IntVar(&o.agents, "agents", 5000, "agents in the group")
	flag.IntVar(&o.pending, "pending", 10000, "pending sessions")
	flag.IntVar(&o.owners, "owners", 100, "session owners")
	flag.IntVar(&o.runs, "runs", 3, "passes per measurement (median reported)")
	flag.StringVar(&o.policy, "policy", "drf-dispersed", "built-in policy: "+fmt.Sprint(builtin.Names()))
	flag.StringVar(&o.postgres, "postgres", "", "PostgreSQL URL of a scratch database to WIPE and use (default: start a throwaway server)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-scheduler:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	cfg, ok := builtin.Config(o.policy)
	if !ok {
		return fmt.Errorf("unknown built-in policy %q", o.policy)
	}
	url := o.postgres
	if url == "" {
		if !dbtest.Available() {
			return errors.New("PostgreSQL is not installed (no " + dbtest.BinDir + "/initdb); pass -postgres URL")
		}
		srv, err := dbtest.StartServer()
		if err != nil {
			return fmt.Errorf("starting PostgreSQL: %w", err)
		}
		defer srv.Stop()
		if url, err = srv.NewDatabase(ctx); err != nil {
			return err
		}
	}

	compile, uploadToActive, err := measureUpload(ctx, url)
	if err != nil {
		return err
	}

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

	in := schedtest.Synthetic(o.agents, o.pending, o.owners, 1)
	var ws, ns []passResult
	for i := range max(o.runs, 1) {
		w, err := runPass(ctx, url, in, wasm, o.policy, cfg)
		if err != nil {
			return fmt.Errorf("wasm pass: %w", err)
		}
		n, err := runPass(ctx, url, in, native.Policy{}, o.policy, cfg)
		if err != nil {
			return fmt.Errorf("native pass: %w", err)
		}
		if w.placements != n.placements {
			return fmt.Errorf("run %d: wasm placed %d sessions, native %d", i, w.placements, n.placements)
		}
		for s, a := range w.placed {
			if n.placed[s] != a {
				return fmt.Errorf("run %d: wasm placed %s on %s, native on %q", i, s, a, n.placed[s])
			}
		}
		ws, ns = append(ws, w), append(ns, n)
	}
	w, n := medianOf(ws), medianOf(ns)

	fmt.Printf("policy: %s\n", o.policy)
	fmt.Printf("agents: %d\npending: %d\nplacements: %d\n", o.agents, o.pending, w.placements)
	fmt.Println("placements_identical: true")
	fmt.Printf("pass_ms_wasm: %.1f\n", ms(w.total))
	fmt.Printf("pass_ms_native: %.1f\n", ms(n.total))
	fmt.Printf("pass_ratio_wasm_over_native: %.2f\n", w.total.Seconds()/n.total.Seconds())
	fmt.Printf("snapshot_ms_wasm: %.1f\n", ms(w.snapshot))
	fmt.Printf("snapshot_ms_native: %.1f\n", ms(n.snapshot))
	fmt.Printf("schedule_ms_wasm: %.1f\n", ms(w.schedule))
	fmt.Printf("schedule_ms_native: %.1f\n", ms(n.schedule))
	fmt.Printf("decide_ms_wasm: %.1f\n", ms(w.decide))
	fmt.Printf("decide_ms_native: %.1f\n", ms(n.decide))
	fmt.Printf("decide_ratio_wasm_over_native: %.2f\n", w.decide.Seconds()/n.decide.Seconds())
	fmt.Printf("commit_ms: %.1f\n", ms(w.commit))
	fmt.Printf("commit_ms_native_pass: %.1f\n", ms(n.commit))
	fmt.Printf("upload_to_active_ms: %.1f\n", ms(uploadToActive))
	fmt.Printf("policy_size_bytes: %d\n", len(builtin.Wasm))
	fmt.Printf("noop_call_go_us: %.1f\n", noopGoUS)
	fmt.Printf("placements_per_s_wasm: %.0f\n", float64(w.placements)/w.total.Seconds())
	fmt.Printf("placements_per_s_native: %.0f\n", float64(n.placements)/n.total.Seconds())
	fmt.Printf("policy_compile_ms: %.1f\n", ms(compile))
	fmt.Printf("noop_call_us: %.1f\n", noopUS)
	return nil
}

// measureUpload times what an upload of the ~2 MB Go-built built-in
// module costs until it is active: compiling and validating it in a fresh
// runtime without a compilation cache (compile), then storing it in
// PostgreSQL and activating it for a group (uploadToActive includes
// compile).
func measureUpload(ctx context.Context, url string) (compile, uploadToActive time.Duration, err error) {
	if err := resetDatabase(ctx, url, scheduler.Input{}); err != nil {
		return 0, 0, err
	}
	db, err := database.Open(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), url)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	start := time.Now()
	h, err := host.New(ctx, host.Options{})
	if err != nil {
		return 0, 0, err
	}
	defer h.Close(ctx)
	if _, err := h.Compile(ctx, builtin.Wasm); err != nil {
		return 0, 0, fmt.Errorf("compiling built-in policy: %w", err)
	}
	compile = time.Since(start)
	if _, err := db.StorePolicy(ctx, "bench-upload", "scheduler", builtin.Wasm); err != nil {
		return 0, 0, err
	}
	if _, err := db.ActivatePolicy(ctx, benchGroup, "bench-upload"); err != nil {
		return 0, 0, err
	}
	return compile, time.Since(start), nil
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

// medianOf returns the run with the median total time.
func medianOf(rs []passResult) passResult {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b passResult) int { return int(a.total - b.total) })
	return rs[len(rs)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
