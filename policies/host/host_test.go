package host

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/policies/abi"
)

// assemble turns a WAT file into Wasm with wabt's wat2wasm.
func assemble(t testing.TB, path string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed")
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path)+".wasm")
	if b, err := exec.Command(bin, path, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", path, err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// assembleText assembles WAT source given inline.
func assembleText(t testing.TB, src string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inline.wat")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return assemble(t, path)
}

func newHost(t testing.TB, opts Options) *Host {
	t.Helper()
	h, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

func smallBatch(cursor uint32) *abi.Batch {
	b := &abi.Batch{
		Cursor: cursor,
		Owners: []abi.Resources{{}},
		Agents: []abi.Agent{
			{Index: 0, Capacity: abi.Resources{CPUMilli: 2000, Mem: 4 << 30}},
			{Index: 1, Capacity: abi.Resources{CPUMilli: 8000, Mem: 16 << 30, GPU: 1}},
		},
		Sessions: []abi.Session{
			{Index: 0, CreatedAt: 1, Request: abi.Resources{CPUMilli: 1500, Mem: 1 << 30}},
			{Index: 1, CreatedAt: 2, Request: abi.Resources{CPUMilli: 1000, Mem: 1 << 30}},
			{Index: 2, CreatedAt: 3, Request: abi.Resources{CPUMilli: 1000, Mem: 1 << 30, GPU: 1}},
			{Index: 3, CreatedAt: 4, Request: abi.Resources{CPUMilli: 64000, Mem: 1 << 30}},
		},
	}
	for _, a := range b.Agents {
		b.Total = b.Total.Add(a.Capacity)
	}
	return b
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		wasm    func(t *testing.T) []byte
		opts    Options
		wantErr string
	}{
		{"not wasm", func(*testing.T) []byte { return []byte("#!/bin/sh\necho hi\n") }, Options{}, "not a Wasm module (bad magic)"},
		{"empty", func(*testing.T) []byte { return nil }, Options{}, "not a Wasm module (bad magic)"},
		{"too large", func(t *testing.T) []byte { return assemble(t, "testdata/noop.wat") }, Options{MaxModuleSize: 16}, "module too large"},
		{"truncated", func(t *testing.T) []byte { w := assemble(t, "testdata/noop.wat"); return w[:len(w)/2] }, Options{}, "compiling module"},
		{"missing export", func(t *testing.T) []byte { return assemble(t, "testdata/missing_export.wat") }, Options{}, "missing export berth_schedule"},
		{"bad signature", func(t *testing.T) []byte { return assemble(t, "testdata/bad_signature.wat") }, Options{}, "export berth_schedule has signature (i32, i32) -> i32, want (i32, i32) -> i64"},
		{"bad version", func(t *testing.T) []byte { return assemble(t, "testdata/bad_version.wat") }, Options{}, "unsupported ABI version 7 (this host supports 1)"},
		{"env import", func(t *testing.T) []byte { return assemble(t, "testdata/env_import.wat") }, Options{}, "import env.foo is not allowed"},
		{"huge memory", func(t *testing.T) []byte { return assemble(t, "testdata/huge_memory.wat") }, Options{}, "memory"},
		{"initialize spins", func(t *testing.T) []byte { return assemble(t, "testdata/init_spin.wat") }, Options{Deadline: 100 * time.Millisecond}, "exceeded its deadline"},
		{"no memory", func(t *testing.T) []byte {
			return assembleText(t, `(module (func (export "berth_abi_version") (result i32) (i32.const 1)))`)
		}, Options{}, "missing export memory"},
		{"wasi command", func(t *testing.T) []byte {
			return assembleText(t, `(module (memory (export "memory") 1) (func (export "_start"))
				(func (export "berth_abi_version") (result i32) (i32.const 1))
				(func (export "berth_alloc") (param i32) (result i32) (i32.const 0))
				(func (export "berth_schedule") (param i32 i32) (result i64) (i64.const 0)))`)
		}, Options{}, "build it as a reactor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm := tt.wasm(t)
			h := newHost(t, tt.opts)
			m, err := h.Compile(context.Background(), wasm)
			if err == nil {
				_ = m.Close(context.Background())
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestFirstFitWAT runs the example WAT policy (a non-Go guest) end to end.
func TestFirstFitWAT(t *testing.T) {
	wasm := assemble(t, "../../examples/policy-wat/firstfit.wat")
	h := newHost(t, Options{})
	m, err := h.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	want := []abi.Pick{{Session: 0, Agent: 0}, {Session: 1, Agent: 1}, {Session: 2, Agent: 1}}
	for range 3 { // instances are reused: state in the input buffer must not leak between calls
		d, err := m.Decide(context.Background(), smallBatch(9))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d.Picks, want) || d.Cursor != 9 {
			t.Fatalf("got %+v, want picks %v cursor 9", d, want)
		}
	}
}

func TestHostile(t *testing.T) {
	wasm := assemble(t, "testdata/hostile.wat")
	h := newHost(t, Options{Deadline: 300 * time.Millisecond, MemoryLimitPages: 64})
	m, err := h.Compile(context.Background(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	tests := []struct {
		name    string
		modes   []uint32 // calls made in order; the last must fail
		wantErr string
	}{
		{"infinite loop", []uint32{1}, "policy exceeded its deadline of 300ms"},
		{"memory bomb", []uint32{2}, "the host's memory cap"},
		{"out-of-bounds output", []uint32{3}, "out-of-bounds output"},
		{"overlong output", []uint32{4}, "bytes of output"},
		{"bad magic", []uint32{5}, "not a decision (bad magic"},
		{"out-of-bounds alloc", []uint32{6, 0}, "berth_alloc"},
		{"trap", []uint32{7}, "unreachable"},
		{"count mismatch", []uint32{8}, "does not match its pick count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			for _, mode := range tt.modes {
				_, err = m.Decide(context.Background(), smallBatch(mode))
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			// The broken instance is gone: the next call gets a fresh one.
			d, err := m.Decide(context.Background(), smallBatch(0))
			if err != nil {
				t.Fatalf("call after failure: %v", err)
			}
			if len(d.Picks) != 0 {
				t.Fatalf("unexpected picks %v", d.Picks)
			}
		})
	}
}

func TestDecideCanceled(t *testing.T) {
	h := newHost(t, Options{})
	m, err := h.Compile(context.Background(), assemble(t, "testdata/hostile.wat"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if _, err := m.Decide(ctx, smallBatch(1)); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("got %v", err)
	}
}

func TestConcurrentDecide(t *testing.T) {
	h := newHost(t, Options{Instances: 2})
	m, err := h.Compile(context.Background(), assemble(t, "../../examples/policy-wat/firstfit.wat"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				d, err := m.Decide(context.Background(), smallBatch(0))
				if err == nil && len(d.Picks) != 3 {
					err = errors.New("wrong picks")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestClosedModule(t *testing.T) {
	h := newHost(t, Options{})
	m, err := h.Compile(context.Background(), assemble(t, "testdata/noop.wat"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Decide(context.Background(), smallBatch(0)); err == nil {
		t.Fatal("Decide on a closed module succeeded")
	}
}
