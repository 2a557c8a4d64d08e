package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/host"
)

func testBatch() *abi.Batch {
	cpu := func(c int64) abi.Resources { return abi.Resources{CPUMilli: c * 1000, Mem: 1 << 30} }
	return &abi.Batch{
		Agents: []abi.Agent{
			{Index: 0, Sessions: 3, Capacity: abi.Resources{CPUMilli: 8000, Mem: 8 << 30}},
			{Index: 1, Sessions: 1, Capacity: abi.Resources{CPUMilli: 2000, Mem: 8 << 30}},
		},
		Sessions: []abi.Session{
			{Index: 0, CreatedAt: 1, Request: cpu(1)},
			{Index: 1, CreatedAt: 2, Request: cpu(1)},
			{Index: 2, CreatedAt: 3, Priority: 5, Request: cpu(4)},
		},
	}
}

func TestDecide(t *testing.T) {
	d, err := decide(testBatch())
	if err != nil {
		t.Fatal(err)
	}
	want := []abi.Pick{{Session: 2, Agent: 0}, {Session: 0, Agent: 1}, {Session: 1, Agent: 1}}
	if !reflect.DeepEqual(d.Picks, want) {
		t.Fatalf("picks %v, want %v", d.Picks, want)
	}
}

// TestAsWasm builds this template the way its README says and runs it
// under Berth's policy host: the Go SDK path end to end.
func TestAsWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Wasm module")
	}
	out := filepath.Join(t.TempDir(), "policy.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the policy: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := host.New(ctx, host.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Compile(ctx, wasm)
	if err != nil {
		t.Fatalf("compiling the policy: %v", err)
	}
	defer m.Close(ctx)
	got, err := m.Decide(ctx, testBatch())
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	want, _ := decide(testBatch())
	if !reflect.DeepEqual(got.Picks, want.Picks) {
		t.Errorf("Wasm picks %v, native picks %v", got.Picks, want.Picks)
	}
}
