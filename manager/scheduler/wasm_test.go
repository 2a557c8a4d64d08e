package scheduler_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/manager/scheduler/schedtest"
	"github.com/berth-dev/berth/policies/builtin"
	"github.com/berth-dev/berth/policies/host"
	"github.com/berth-dev/berth/policies/native"
)

var (
	builtinOnce sync.Once
	builtinMod  *host.Module
	builtinErr  error
)

// builtinModule compiles the embedded built-in module once per test binary.
func builtinModule(tb testing.TB) *host.Module {
	tb.Helper()
	builtinOnce.Do(func() {
		h, err := host.New(context.Background(), host.Options{})
		if err != nil {
			builtinErr = err
			return
		}
		builtinMod, builtinErr = h.Compile(context.Background(), builtin.Wasm)
	})
	if builtinErr != nil {
		tb.Fatal(builtinErr)
	}
	return builtinMod
}

// TestScheduleBuiltinWasm runs every built-in policy through the real Wasm
// host and checks the plan equals the native algorithm's and that the
// re-check never had to drop a pick.
func TestScheduleBuiltinWasm(t *testing.T) {
	m := builtinModule(t)
	for i, name := range builtin.Names() {
		t.Run(name, func(t *testing.T) {
			cfg, _ := builtin.Config(name)
			in := schedtest.Synthetic(40, 400, 7, uint64(i))
			in.Config = cfg
			in.Cursor = 3
			got, err := scheduler.Schedule(context.Background(), m, in)
			if err != nil {
				t.Fatal(err)
			}
			want, err := scheduler.Schedule(context.Background(), native.Policy{}, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Dropped) != 0 {
				t.Fatalf("built-in policy had picks dropped: %+v", got.Dropped)
			}
			if len(got.Placements) == 0 || len(got.Placements)+len(got.Waiting) != len(in.Pending) {
				t.Fatalf("%d placed, %d waiting of %d", len(got.Placements), len(got.Waiting), len(in.Pending))
			}
			got.DecideTime, want.DecideTime = 0, 0
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("wasm and native plans differ")
			}
		})
	}
}

func TestScheduleBuiltinSmall(t *testing.T) {
	m := builtinModule(t)
	in := group()
	in.Config, _ = builtin.Config(builtin.Default)
	plan, err := scheduler.Schedule(context.Background(), m, in)
	if err != nil {
		t.Fatal(err)
	}
	// fifo: s1, s2, s3; dispersed: the agent with the highest mean free
	// fraction of CPU and memory. b starts empty (1.0), a at (2/4+15/16)/2;
	// after two 2-CPU sessions b is at (4/8+14/16)/2 < a.
	var got []string
	for _, p := range plan.Placements {
		got = append(got, p.SessionID+"@"+p.AgentID)
	}
	if want := []string{"s1@b", "s2@b", "s3@a"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("placements %v, want %v", got, want)
	}
}

func TestScheduleBadConfigFails(t *testing.T) {
	in := group()
	in.Config = "selector=best"
	if _, err := scheduler.Schedule(context.Background(), builtinModule(t), in); err == nil {
		t.Fatal("no error for an unknown selector")
	}
}

// TestScheduleFirstFitWAT runs the hand-written WAT example policy.
func TestScheduleFirstFitWAT(t *testing.T) {
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed")
	}
	out := filepath.Join(t.TempDir(), "firstfit.wasm")
	if b, err := exec.Command(bin, "../../examples/policy-wat/firstfit.wat", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(context.Background(), host.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	m, err := h.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	in := schedtest.Synthetic(30, 600, 5, 1)
	plan, err := scheduler.Schedule(context.Background(), m, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Dropped) != 0 || len(plan.Placements) == 0 {
		t.Fatalf("%d placed, dropped %+v", len(plan.Placements), plan.Dropped)
	}
	if len(plan.Placements)+len(plan.Waiting) != len(in.Pending) {
		t.Fatalf("%d placed + %d waiting != %d pending", len(plan.Placements), len(plan.Waiting), len(in.Pending))
	}
}
