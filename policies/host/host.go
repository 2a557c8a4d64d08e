// Package host runs Berth's Wasm scheduling policies under wazero: it
// compiles and validates uploaded modules and calls them with a per-call
// deadline, a memory cap and no access to the outside world (WASI without
// filesystem, environment, network or clock beyond wazero's fake ones).
//
//	h, _ := host.New(ctx, host.Options{CacheDir: "var/wasm-cache"})
//	m, err := h.Compile(ctx, wasm) // validates exports, imports and ABI version
//	d, err := m.Decide(ctx, batch) // satisfies scheduler.Policy
package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/berth-dev/berth/policies/abi"
)

// Defaults for Options.
const (
	DefaultDeadline         = 2 * time.Second
	DefaultMemoryLimitPages = 4096 // 256 MiB
	DefaultMaxModuleSize    = 32 << 20
	DefaultInstances        = 2
	// outputLimit bounds what a guest's stdout and stderr keep per call.
	outputLimit = 4 << 10
)

// Options configure a Host. Zero values take the defaults.
type Options struct {
	// CacheDir holds wazero's compilation cache across restarts; empty
	// keeps the cache in memory only.
	CacheDir string
	// Deadline bounds one Decide call, including instantiating a fresh
	// instance (default 2s).
	Deadline time.Duration
	// MemoryLimitPages caps each instance's linear memory in 64 KiB pages
	// (default 4096 = 256 MiB).
	MemoryLimitPages uint32
	// MaxModuleSize is the largest module Compile accepts, in bytes
	// (default 32 MiB).
	MaxModuleSize int
	// Instances is how many idle instances a Module keeps for reuse
	// (default 2). More concurrent calls instantiate extra ones.
	Instances int
}

// Host owns one wazero runtime shared by every compiled policy.
type Host struct {
	opts  Options
	rt    wazero.Runtime
	cache wazero.CompilationCache
}

// New starts a runtime (the optimizing compiler where the platform has one)
// with the compilation cache and WASI instantiated.
func New(ctx context.Context, opts Options) (*Host, error) {
	if opts.Deadline <= 0 {
		opts.Deadline = DefaultDeadline
	}
	if opts.MemoryLimitPages == 0 {
		opts.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if opts.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("memory limit %d pages is above the Wasm maximum of 65536", opts.MemoryLimitPages)
	}
	if opts.MaxModuleSize <= 0 {
		opts.MaxModuleSize = DefaultMaxModuleSize
	}
	if opts.Instances <= 0 {
		opts.Instances = DefaultInstances
	}
	var cache wazero.CompilationCache
	if opts.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("opening compilation cache %s: %w", opts.CacheDir, err)
		}
		cache = c
	} else {
		cache = wazero.NewCompilationCache()
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(opts.MemoryLimitPages)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("instantiating WASI: %w", err)
	}
	return &Host{opts: opts, rt: rt, cache: cache}, nil
}

// Close closes the runtime and every module compiled by it.
func (h *Host) Close(ctx context.Context) error {
	err := h.rt.Close(ctx)
	return errors.Join(err, h.cache.Close(ctx))
}

// Compile validates and compiles a policy module, then instantiates it once
// to check berth_abi_version. Errors name the problem: "not a Wasm module
// (bad magic)", "module too large", "missing export berth_schedule",
// "import env.foo is not allowed", "unsupported ABI version 7 (this host
// supports 1)".
func (h *Host) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	if len(wasm) > h.opts.MaxModuleSize {
		return nil, fmt.Errorf("module too large: %d bytes (limit %d)", len(wasm), h.opts.MaxModuleSize)
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
		return nil, errors.New("not a Wasm module (bad magic)")
	}
	cm, err := h.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compiling module: %w", err)
	}
	if err := validate(cm); err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	_, hasInit := cm.ExportedFunctions()[abi.ExportInitialize]
	m := &Module{
		h:       h,
		cm:      cm,
		hasInit: hasInit,
		idle:    make(chan *instance, h.opts.Instances),
	}
	inst, err := m.instantiate(ctx)
	if err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, h.opts.Deadline)
	defer cancel()
	res, err := inst.version.Call(callCtx)
	if err != nil {
		inst.close(ctx)
		_ = cm.Close(ctx)
		return nil, inst.callError("calling "+abi.ExportVersion, err, h.opts.Deadline)
	}
	if v := int32(res[0]); v != abi.Version {
		inst.close(ctx)
		_ = cm.Close(ctx)
		return nil, fmt.Errorf("unsupported ABI version %d (this host supports %d)", v, abi.Version)
	}
	m.put(ctx, inst)
	return m, nil
}

// validate checks the compiled module's imports and exports against the ABI.
func validate(cm wazero.CompiledModule) error {
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		if mod != abi.WASIModule {
			return fmt.Errorf("import %s.%s is not allowed (a policy may import only %s)", mod, name, abi.WASIModule)
		}
	}
	for _, mem := range cm.ImportedMemories() {
		mod, name, _ := mem.Import()
		return fmt.Errorf("import %s.%s is not allowed (a policy must define its own memory)", mod, name)
	}
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		return fmt.Errorf("missing export %s", abi.ExportMemory)
	}
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	want := []struct {
		name    string
		params  []api.ValueType
		results []api.ValueType
	}{
		{abi.ExportVersion, nil, []api.ValueType{i32}},
		{abi.ExportAlloc, []api.ValueType{i32}, []api.ValueType{i32}},
		{abi.ExportSchedule, []api.ValueType{i32, i32}, []api.ValueType{i64}},
	}
	exports := cm.ExportedFunctions()
	for _, w := range want {
		f, ok := exports[w.name]
		if !ok {
			return fmt.Errorf("missing export %s", w.name)
		}
		if !sameTypes(f.ParamTypes(), w.params) || !sameTypes(f.ResultTypes(), w.results) {
			return fmt.Errorf("export %s has signature %s, want %s", w.name,
				signature(f.ParamTypes(), f.ResultTypes()), signature(w.params, w.results))
		}
	}
	if f, ok := exports[abi.ExportInitialize]; ok {
		if len(f.ParamTypes()) != 0 || len(f.ResultTypes()) != 0 {
			return fmt.Errorf("export %s has signature %s, want ()", abi.ExportInitialize, signature(f.ParamTypes(), f.ResultTypes()))
		}
	} else if _, ok := exports["_start"]; ok {
		return errors.New("module is a WASI command (exports _start, not _initialize); build it as a reactor, e.g. go build -buildmode=c-shared")
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func signature(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return strings.Join(s, ", ")
	}
	sig := "(" + names(params) + ")"
	if len(results) > 0 {
		sig += " -> " + names(results)
	}
	return sig
}

// Module is a compiled, validated policy with a small pool of instances.
// It is safe for concurrent use.
type Module struct {
	h       *Host
	cm      wazero.CompiledModule
	hasInit bool
	idle    chan *instance

	mu     sync.Mutex
	closed bool
}

// Close discards the idle instances and the compiled code.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	for {
		select {
		case inst := <-m.idle:
			inst.close(ctx)
		default:
			return m.cm.Close(ctx)
		}
	}
}
