package host

import (
	"context"
	"testing"

	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/builtin"
)

// BenchmarkNoopCall measures the host's overhead per Decide: encode a small
// batch, berth_alloc, write, berth_schedule, read and decode, with a WAT
// policy that does nothing.
func BenchmarkNoopCall(b *testing.B) {
	h := newHost(b, Options{})
	m, err := h.Compile(context.Background(), assemble(b, "testdata/noop.wat"))
	if err != nil {
		b.Fatal(err)
	}
	batch := smallBatch(0)
	for b.Loop() {
		if _, err := m.Decide(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNoopCallGo is the same with the built-in Go guest on an empty
// batch (adds the Go guest's decode and encode).
func BenchmarkNoopCallGo(b *testing.B) {
	h := newHost(b, Options{})
	m, err := h.Compile(context.Background(), builtin.Wasm)
	if err != nil {
		b.Fatal(err)
	}
	batch := &abi.Batch{}
	for b.Loop() {
		if _, err := m.Decide(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileBuiltin compiles the built-in module in a fresh runtime
// without a compilation cache (the cold start of an upload).
func BenchmarkCompileBuiltin(b *testing.B) {
	for b.Loop() {
		h, err := New(context.Background(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.Compile(context.Background(), builtin.Wasm); err != nil {
			b.Fatal(err)
		}
		_ = h.Close(context.Background())
	}
}

// BenchmarkCompileBuiltinCached compiles it with a warm on-disk cache (a
// manager restart).
func BenchmarkCompileBuiltinCached(b *testing.B) {
	dir := b.TempDir()
	warm, err := New(context.Background(), Options{CacheDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := warm.Compile(context.Background(), builtin.Wasm); err != nil {
		b.Fatal(err)
	}
	_ = warm.Close(context.Background())
	b.ResetTimer()
	for b.Loop() {
		h, err := New(context.Background(), Options{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := h.Compile(context.Background(), builtin.Wasm); err != nil {
			b.Fatal(err)
		}
		_ = h.Close(context.Background())
	}
}
