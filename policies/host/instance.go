package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/berth-dev/berth/policies/abi"
)

// maxErrorReport bounds a guest's error report, in bytes.
const maxErrorReport = 64 << 10

// instance is one instantiated policy. It is used by one call at a time.
type instance struct {
	mod      api.Module
	mem      api.Memory
	version  api.Function
	alloc    api.Function
	schedule api.Function
	out      *boundedBuffer
	// limitPages is the host's memory cap, for error messages.
	limitPages uint32
	buf        []byte // reused encoding buffer
}

// get returns an idle instance or instantiates a new one.
func (m *Module) get(ctx context.Context) (*instance, error) {
	select {
	case inst := <-m.idle:
		return inst, nil
	default:
		return m.instantiate(ctx)
	}
}

// put returns a healthy instance to the pool, or closes it if the pool is
// full or the module closed.
func (m *Module) put(ctx context.Context, inst *instance) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		select {
		case m.idle <- inst:
			return
		default:
		}
	}
	inst.close(ctx)
}

func (m *Module) instantiate(ctx context.Context) (*instance, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, errors.New("policy module is closed")
	}
	ctx, cancel := context.WithTimeout(ctx, m.h.opts.Deadline)
	defer cancel()
	out := &boundedBuffer{limit: outputLimit}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module may coexist
		WithStdout(out).
		WithStderr(out).
		WithStartFunctions()
	if m.hasInit {
		cfg = cfg.WithStartFunctions(abi.ExportInitialize)
	}
	mod, err := m.h.rt.InstantiateModule(ctx, m.cm, cfg)
	if err != nil {
		return nil, withOutput(fmt.Errorf("instantiating policy: %w", describe(err, m.h.opts.Deadline)), out)
	}
	return &instance{
		mod:        mod,
		mem:        mod.Memory(),
		version:    mod.ExportedFunction(abi.ExportVersion),
		alloc:      mod.ExportedFunction(abi.ExportAlloc),
		schedule:   mod.ExportedFunction(abi.ExportSchedule),
		out:        out,
		limitPages: m.h.opts.MemoryLimitPages,
	}, nil
}

func (inst *instance) close(ctx context.Context) { _ = inst.mod.Close(ctx) }

// Decide runs the policy on one batch within the host's deadline. Any
// failure (trap, deadline, memory cap, malformed or out-of-bounds output)
// discards the instance and returns an error; the caller should then fall
// back to another policy. A structurally valid decision is returned as is:
// the picks' indices are the scheduler's to re-check.
func (m *Module) Decide(ctx context.Context, in *abi.Batch) (*abi.Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, m.h.opts.Deadline)
	defer cancel()
	inst, err := m.get(ctx)
	if err != nil {
		return nil, err
	}
	d, err := inst.decide(ctx, in, m.h.opts.Deadline)
	var ge *abi.GuestError
	switch {
	case err == nil, errors.As(err, &ge):
		m.put(ctx, inst) // a policy that reported an error is still healthy
	default:
		inst.close(context.WithoutCancel(ctx))
	}
	return d, err
}

func (inst *instance) decide(ctx context.Context, in *abi.Batch, deadline time.Duration) (*abi.Decision, error) {
	inst.out.Reset()
	inst.buf = abi.AppendBatch(inst.buf[:0], in)
	if len(inst.buf) > math.MaxInt32 {
		return nil, fmt.Errorf("batch too large: %d bytes", len(inst.buf))
	}
	size := uint32(len(inst.buf))
	res, err := inst.alloc.Call(ctx, uint64(size))
	if err != nil {
		return nil, inst.callError("calling "+abi.ExportAlloc, err, deadline)
	}
	ptr := uint32(res[0])
	if !inst.mem.Write(ptr, inst.buf) {
		return nil, fmt.Errorf("%s(%d) returned out-of-bounds pointer %d (memory is %d bytes)", abi.ExportAlloc, size, ptr, inst.mem.Size())
	}
	res, err = inst.schedule.Call(ctx, uint64(ptr), uint64(size))
	if err != nil {
		err = inst.callError("calling "+abi.ExportSchedule, err, deadline)
		if limit := uint64(inst.limitPages) * 65536; uint64(inst.mem.Size()) > limit*3/4 {
			err = fmt.Errorf("%w (memory %d of at most %d bytes in use: the host's memory cap)", err, inst.mem.Size(), limit)
		}
		return nil, err
	}
	outPtr, outLen := uint32(res[0]>>32), uint32(res[0])
	if limit := max(abi.DecisionSize(len(in.Sessions)), abi.ErrorHeaderSize+maxErrorReport); int(outLen) > limit {
		return nil, fmt.Errorf("policy returned %d bytes of output (at most %d expected for %d sessions)", outLen, limit, len(in.Sessions))
	}
	out, ok := inst.mem.Read(outPtr, outLen)
	if !ok {
		return nil, fmt.Errorf("policy returned an out-of-bounds output (ptr %d, len %d, memory is %d bytes)", outPtr, outLen, inst.mem.Size())
	}
	d, err := abi.DecodeDecision(out)
	if err != nil {
		var ge *abi.GuestError
		if errors.As(err, &ge) {
			return nil, err
		}
		return nil, withOutput(fmt.Errorf("decoding policy output: %w", err), inst.out)
	}
	if len(d.Picks) > len(in.Sessions) {
		return nil, fmt.Errorf("policy returned %d picks for %d sessions", len(d.Picks), len(in.Sessions))
	}
	return d, nil
}

// callError describes a failed guest call, with the guest's output.
func (inst *instance) callError(what string, err error, deadline time.Duration) error {
	return withOutput(fmt.Errorf("%s: %w", what, describe(err, deadline)), inst.out)
}

// describe turns wazero's exit errors into words.
func describe(err error, deadline time.Duration) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("policy exceeded its deadline of %s: %w", deadline, err)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("policy call canceled: %w", err)
		}
		return fmt.Errorf("policy exited with code %d: %w", exit.ExitCode(), err)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n") // drop wazero's multi-line stack trace
	return errors.New("policy trapped: " + msg)
}

// withOutput appends what the guest printed, if anything.
func withOutput(err error, out *boundedBuffer) error {
	s := strings.TrimSpace(out.String())
	if s == "" {
		return err
	}
	if len(s) > 512 {
		s = s[:512] + "..."
	}
	return fmt.Errorf("%w (guest output: %q)", err, s)
}

// boundedBuffer keeps the first limit bytes written to it and drops the
// rest, so a chatty guest cannot make the host buffer unbounded output.
type boundedBuffer struct {
	limit int
	b     []byte
}

func (w *boundedBuffer) Write(p []byte) (int, error) {
	if room := w.limit - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (w *boundedBuffer) Reset()         { w.b = w.b[:0] }
func (w *boundedBuffer) String() string { return string(w.b) }
