// Package scheduler is the I/O-free heart of Berth's Sokovan-style
// scheduler: given a snapshot of one resource group (pending sessions,
// agents, owners' usage) and a Policy, it returns a Plan. It touches no
// database, Valkey or Wasm runtime; manager wires those in.
//
//	pending ──► validators (Go) ──► policy (Wasm: order + pick agent) ──► re-check (Go) ──► Plan
//
// The validators (validate.go) keep a session PENDING, with the reason,
// while its owner's resource policy, its reserved start time or its
// dependencies forbid it to start; a session whose dependency failed is
// cancelled. The re-check makes a buggy or hostile policy harmless: a pick
// that names an unknown session or agent, places a session twice, or
// overcommits an agent is dropped with a reason; a pick that would take
// its owner past a limit of the resource policy stays PENDING. See
// README.md for the whole pass.
package scheduler

import (
	"context"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/policies/abi"
)

// Policy orders pending sessions and picks an agent for each, in one call
// for the whole batch. The Wasm host's *host.Module and native.Policy
// satisfy it.
type Policy interface {
	Decide(ctx context.Context, in *abi.Batch) (*abi.Decision, error)
}

// Input is a snapshot of one resource group.
type Input struct {
	Group string
	// Config is the policy's configuration string (built-in policies read
	// e.g. "sequencer=drf,selector=dispersed"); empty for most uploads.
	Config  string
	Pending []Pending
	Agents  []Agent
	// Usage is each owner's resources held by placed, not yet ended
	// sessions (in every group), by owner ID.
	Usage map[string]api.Resources
	// Owners holds each owner's resource policy and session count, by
	// owner ID; an owner not listed is unlimited.
	Owners map[string]Owner
	// Deps is the state of every session a pending session depends on, by
	// session ID; a dependency missing here no longer exists.
	Deps map[string]Dep
	// Cursor is the round-robin position carried from the last pass.
	Cursor int
	Now    time.Time
}

// Pending is a session waiting to be placed.
type Pending struct {
	ID        string
	OwnerID   string
	Priority  int
	CreatedAt time.Time
	Request   api.Resources
	// Owner names the owner in waiting reasons (e.g. an email); OwnerID
	// when empty.
	Owner string
	// StartsAt is the reserved start time; zero for none.
	StartsAt time.Time
	// DependsOn lists session IDs that must end with SUCCESS first.
	DependsOn []string
}

// Owner is a session owner's resource policy and what they hold.
type Owner struct {
	Policy api.ResourcePolicy
	// Active counts the owner's placed, not yet ended sessions (every
	// group), for the concurrency limit.
	Active int
}

// Dep is the state of a session that another one depends on.
type Dep struct {
	Name   string
	Type   api.SessionType
	Status api.SessionStatus
	Result string
}

// Agent is an ALIVE agent of the group.
type Agent struct {
	ID       string
	Capacity api.Resources
	Used     api.Resources
	Sessions int
}

// Placement is one re-checked pick: start SessionID on AgentID.
type Placement struct {
	SessionID string
	AgentID   string
	Request   api.Resources
}

// Dropped is a pick the re-check refused.
type Dropped struct {
	SessionID string
	AgentID   string
	Reason    string
}

// Plan is the outcome of one pass.
type Plan struct {
	// Placements are the picks to commit, in the policy's order.
	Placements []Placement
	// Waiting maps each session that stays PENDING to the reason, for its
	// status_info (e.g. "no agent has 64 CPU free (largest free: 2)").
	Waiting map[string]string
	// Cancelled maps each session to cancel to the reason (a dependency
	// failed).
	Cancelled map[string]string
	// Dropped lists picks the policy made that failed the re-check.
	Dropped []Dropped
	// Cursor is the round-robin position to carry to the next pass.
	Cursor int
	// DecideTime is the time spent inside the policy.
	DecideTime time.Duration
}
