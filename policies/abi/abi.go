// Package abi is Berth's Wasm scheduling-policy ABI, version 1: the
// fixed-layout little-endian records the host writes into a guest's linear
// memory and the decision the guest writes back. It has no dependencies
// beyond the standard library so that it builds for GOOS=wasip1 too; both the
// host (policies/host) and the Go guest SDK (policies/sdk) use it.
//
// The layout is specified in docs/policy-abi.md; the constants below are the
// single source of truth for the offsets.
//
// A guest exports:
//
//	memory
//	berth_abi_version() -> i32              returns Version
//	berth_alloc(size i32) -> i32            a buffer of size bytes the host may fill
//	berth_schedule(ptr i32, len i32) -> i64 decides a batch; result = out_ptr<<32 | out_len
//	_initialize()                           optional; run once per instance if present
package abi

// Version is the ABI version this package speaks.
const Version = 1

// Export names a guest must (or may) provide.
const (
	ExportMemory     = "memory"
	ExportVersion    = "berth_abi_version"
	ExportAlloc      = "berth_alloc"
	ExportSchedule   = "berth_schedule"
	ExportInitialize = "_initialize"
)

// WASIModule is the only import module a guest may use.
const WASIModule = "wasi_snapshot_preview1"

// Magic numbers, little-endian u32 at offset 0 of each buffer.
const (
	// MagicBatch starts an input batch: the bytes "BRTB".
	MagicBatch uint32 = 0x42545242
	// MagicDecision starts a decision: the bytes "BRTD".
	MagicDecision uint32 = 0x44545242
	// MagicError starts a guest error report: the bytes "BRTE".
	MagicError uint32 = 0x45545242
)

// Sizes of the fixed records, in bytes.
const (
	BatchHeaderSize    = 64
	SessionSize        = 48
	AgentSize          = 56
	OwnerSize          = 24
	DecisionHeaderSize = 16
	PickSize           = 8
	ErrorHeaderSize    = 8
)

// Resources is an amount of compute in integer units.
type Resources struct {
	CPUMilli int64 // thousandths of a core
	Mem      int64 // bytes
	GPU      int64 // whole devices
}

// Fits reports whether r fits inside free.
func (r Resources) Fits(free Resources) bool {
	return r.CPUMilli <= free.CPUMilli && r.Mem <= free.Mem && r.GPU <= free.GPU
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{CPUMilli: r.CPUMilli + o.CPUMilli, Mem: r.Mem + o.Mem, GPU: r.GPU + o.GPU}
}

// Sub returns r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{CPUMilli: r.CPUMilli - o.CPUMilli, Mem: r.Mem - o.Mem, GPU: r.GPU - o.GPU}
}

// Session is a pending session offered to the policy.
type Session struct {
	// Index is the session's position in Batch.Sessions; picks name it.
	Index    uint32
	Priority int32
	// Owner indexes Batch.Owners.
	Owner uint32
	// CreatedAt is the enqueue time in Unix milliseconds.
	CreatedAt int64
	Request   Resources
}

// Agent is an agent that may receive sessions.
type Agent struct {
	// Index is the agent's position in Batch.Agents; picks name it.
	Index    uint32
	Sessions uint32
	Capacity Resources
	Used     Resources
}

// Free returns the agent's unused capacity.
func (a Agent) Free() Resources { return a.Capacity.Sub(a.Used) }

// Batch is one scheduling call: every pending session against every agent.
type Batch struct {
	// Config is the policy's configuration string, e.g.
	// "sequencer=drf,selector=dispersed".
	Config string
	// Now is the scheduling time in Unix milliseconds.
	Now int64
	// Cursor is the round-robin position returned by the previous call.
	Cursor   uint32
	Sessions []Session
	Agents   []Agent
	// Owners holds each owner's resources held by running sessions,
	// indexed by Session.Owner.
	Owners []Resources
	// Total is the sum of all agents' capacity.
	Total Resources
}

// Pick is one placement: Batch.Sessions[Session] on Batch.Agents[Agent].
type Pick struct {
	Session uint32
	Agent   uint32
}

// Decision is a policy's answer: picks in decided order and the new
// round-robin cursor.
type Decision struct {
	Picks  []Pick
	Cursor uint32
}
