package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/policies/abi"
)

// Waiting reasons set by the re-check.
const (
	ReasonNotPlaced = "waiting: policy did not place it"
)

// pass is one Schedule call's working state: the group snapshot in batch
// order, with index maps back to IDs.
type pass struct {
	in        Input
	agents    []Agent // sorted by ID; batch agent i is agents[i]
	pending   []int   // positions in in.Pending offered to the policy; batch session i
	waiting   map[string]string
	cancelled map[string]string
	ledger    *ledger
	batch     *abi.Batch
}

// prepare runs the validators and builds the batch.
func prepare(in Input) *pass {
	p := &pass{in: in, waiting: make(map[string]string), cancelled: make(map[string]string)}
	p.ledger = newLedger(&p.in)
	p.agents = slices.Clone(in.Agents)
	slices.SortFunc(p.agents, func(a, b Agent) int { return cmp.Compare(a.ID, b.ID) })

	order := make([]int, len(in.Pending))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		a, b := &in.Pending[x], &in.Pending[y]
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})

	capacity := make([]abi.Resources, len(p.agents))
	free := make([]abi.Resources, len(p.agents))
	var total abi.Resources
	for i, a := range p.agents {
		capacity[i] = ToABI(a.Capacity)
		free[i] = ToABI(a.Free())
		total = total.Add(capacity[i])
	}
	capAmounts, freeAmounts := newAmounts(capacity, false), newAmounts(free, true)
	rank := make(map[string]int) // each owner's pending sessions seen so far
	seen := make(map[string]bool, len(order))
	for _, i := range order {
		s := &in.Pending[i]
		if seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		req := ToABI(s.Request)
		reason := invalid(req)
		if reason == "" {
			cancel, wait := depResult(&p.in, s)
			if cancel != "" {
				p.cancelled[s.ID] = cancel
				continue
			}
			reason = wait
		}
		if reason == "" {
			reason = reserved(in.Now, s)
		}
		if reason == "" {
			reason = p.ledger.pendingLimit(s, rank[s.OwnerID])
		}
		rank[s.OwnerID]++
		if reason == "" {
			reason = p.ledger.limit(s, req)
		}
		if reason == "" && len(p.agents) == 0 {
			reason = "no ALIVE agent in group " + in.Group
		}
		if reason == "" {
			reason = unfit(in.Group, req, capAmounts)
		}
		if reason == "" {
			reason = unfit(in.Group, req, freeAmounts)
		}
		if reason != "" {
			p.waiting[s.ID] = reason
			continue
		}
		p.pending = append(p.pending, i)
	}

	b := &abi.Batch{
		Config:   in.Config,
		Cursor:   uint32(max(in.Cursor, 0)),
		Total:    total,
		Sessions: make([]abi.Session, len(p.pending)),
		Agents:   make([]abi.Agent, len(p.agents)),
	}
	if !in.Now.IsZero() {
		b.Now = in.Now.UnixMilli()
	}
	owners := make(map[string]uint32)
	var ownerIDs []string
	for _, i := range p.pending {
		if _, ok := owners[in.Pending[i].OwnerID]; !ok {
			owners[in.Pending[i].OwnerID] = 0
			ownerIDs = append(ownerIDs, in.Pending[i].OwnerID)
		}
	}
	slices.Sort(ownerIDs)
	b.Owners = make([]abi.Resources, len(ownerIDs))
	for o, id := range ownerIDs {
		owners[id] = uint32(o)
		b.Owners[o] = ToABI(in.Usage[id])
	}
	for k, i := range p.pending {
		s := &in.Pending[i]
		b.Sessions[k] = abi.Session{
			Index:     uint32(k),
			Priority:  int32(max(min(s.Priority, 1<<31-1), -1<<31)),
			Owner:     owners[s.OwnerID],
			CreatedAt: s.CreatedAt.UnixMilli(),
			Request:   ToABI(s.Request),
		}
	}
	for k, a := range p.agents {
		b.Agents[k] = abi.Agent{
			Index:    uint32(k),
			Sessions: uint32(max(a.Sessions, 0)),
			Capacity: capacity[k],
			Used:     ToABI(a.Used),
		}
	}
	p.batch = b
	return p
}

// BuildBatch returns the batch Schedule would hand the policy for in: the
// sessions that passed the validators (oldest first) and the agents sorted
// by ID. It is for tools and benchmarks; Schedule builds its own.
func BuildBatch(in Input) *abi.Batch { return prepare(in).batch }

// Schedule runs one pass for a resource group: validators, then the policy
// (one call for all remaining sessions), then a re-check of every pick
// against a running ledger of free capacity. Picks that name unknown
// indices, place a session twice or do not fit are dropped with a reason.
// Every pending session that is not placed gets a Waiting reason. If the
// policy fails, Schedule returns the error and an empty Plan so the caller
// can fall back to another policy.
func Schedule(ctx context.Context, p Policy, in Input) (Plan, error) {
	ps := prepare(in)
	plan := Plan{Waiting: ps.waiting, Cancelled: ps.cancelled, Cursor: in.Cursor}
	if len(ps.pending) == 0 {
		return plan, nil
	}
	start := time.Now()
	d, err := p.Decide(ctx, ps.batch)
	plan.DecideTime = time.Since(start)
	if err != nil {
		return Plan{}, fmt.Errorf("running policy: %w", err)
	}
	if d == nil {
		return Plan{}, errors.New("running policy: it returned no decision")
	}
	ps.recheck(&plan, d)
	return plan, nil
}

// recheck applies the policy's picks in order to a ledger of free capacity.
func (ps *pass) recheck(plan *Plan, d *abi.Decision) {
	free := make([]abi.Resources, len(ps.agents))
	for i, a := range ps.batch.Agents {
		free[i] = a.Free()
	}
	placedOn := make([]int, len(ps.pending)) // agent index + 1, 0 = not placed
	dropped := make(map[string]string)
	limited := make(map[string]string) // picks refused by the owner's resource policy
	for _, pk := range d.Picks {
		if int(pk.Session) >= len(ps.pending) {
			plan.Dropped = append(plan.Dropped, Dropped{Reason: "unknown session index " + strconv.FormatUint(uint64(pk.Session), 10)})
			continue
		}
		s := &ps.in.Pending[ps.pending[pk.Session]]
		if int(pk.Agent) >= len(ps.agents) {
			reason := "unknown agent index " + strconv.FormatUint(uint64(pk.Agent), 10)
			plan.Dropped = append(plan.Dropped, Dropped{SessionID: s.ID, Reason: reason})
			dropped[s.ID] = reason
			continue
		}
		a := ps.agents[pk.Agent].ID
		if prev := placedOn[pk.Session]; prev != 0 {
			plan.Dropped = append(plan.Dropped, Dropped{SessionID: s.ID, AgentID: a,
				Reason: "session already placed on agent " + ps.agents[prev-1].ID + " by an earlier pick"})
			continue
		}
		req := ps.batch.Sessions[pk.Session].Request
		if why := ps.ledger.limit(s, req); why != "" {
			limited[s.ID] = why
			continue
		}
		if f := free[pk.Agent]; !req.Fits(f) {
			reason := "does not fit agent " + a + ": needs " + describeABI(req) + "; has " + describeABI(f) + " free"
			plan.Dropped = append(plan.Dropped, Dropped{SessionID: s.ID, AgentID: a, Reason: reason})
			dropped[s.ID] = reason
			continue
		}
		free[pk.Agent] = free[pk.Agent].Sub(req)
		placedOn[pk.Session] = int(pk.Agent) + 1
		ps.ledger.place(s, req)
		delete(dropped, s.ID)
		delete(limited, s.ID)
		plan.Placements = append(plan.Placements, Placement{SessionID: s.ID, AgentID: a, Request: s.Request})
	}
	left := newAmounts(free, true)
	for k, i := range ps.pending {
		if placedOn[k] != 0 {
			continue
		}
		s := &ps.in.Pending[i]
		if why, ok := limited[s.ID]; ok {
			plan.Waiting[s.ID] = why
			continue
		}
		switch reason, ok := dropped[s.ID]; {
		case ok:
			plan.Waiting[s.ID] = "waiting: the policy's pick was dropped: " + reason
		default:
			if r := unfit(ps.in.Group, ps.batch.Sessions[k].Request, left); r != "" {
				plan.Waiting[s.ID] = r
			} else {
				plan.Waiting[s.ID] = ReasonNotPlaced
			}
		}
	}
	if n := len(ps.agents); n > 0 {
		plan.Cursor = int(d.Cursor % uint32(n))
	}
}
