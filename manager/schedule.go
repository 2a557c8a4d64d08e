package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/database"
	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/policies/builtin"
	"github.com/google/uuid"
)

// Wake asks the scheduling loop for a pass soon; wakes coalesce.
func (m *Manager) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// scheduleLoop runs a pass over every group with pending sessions when
// woken and every SweepEvery, and marks silent agents LOST.
func (m *Manager) scheduleLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-t.C:
			m.sweep(ctx)
		}
		m.passAll(ctx)
	}
}

// sweep marks agents LOST whose last heartbeat is older than
// AgentLostAfter. Their sessions stay as they are: a restarted agent
// re-adopts its containers.
func (m *Manager) sweep(ctx context.Context) {
	lost, err := m.db.MarkLostAgents(ctx, time.Now().Add(-m.cfg.AgentLostAfter))
	if err != nil {
		m.log.Warn("checking for lost agents", "err", err)
		return
	}
	for _, id := range lost {
		m.log.Warn("agent lost: no heartbeat", "agent", id, "after", m.cfg.AgentLostAfter)
	}
	m.resendStalled(ctx)
}

// resendStalled re-sends the create or destroy command of sessions stuck
// in PREPARING or TERMINATING, at most once per stall period each.
func (m *Manager) resendStalled(ctx context.Context) {
	now := time.Now()
	terminatingStall, preparingStall := m.cfg.ResendAfter, 3*m.cfg.ResendAfter
	terminating, err := m.db.StalledSessions(ctx, now.Add(-terminatingStall), api.StatusTerminating)
	if err == nil {
		var preparing []database.Record
		preparing, err = m.db.StalledSessions(ctx, now.Add(-preparingStall), api.StatusPreparing)
		terminating = append(terminating, preparing...)
	}
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("checking for stalled sessions", "err", err)
		}
		return
	}
	recs := terminating
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, at := range m.resent {
		if now.Sub(at) > 10*time.Minute {
			delete(m.resent, id)
		}
	}
	for _, r := range recs {
		stall := terminatingStall
		if r.Status == api.StatusPreparing {
			stall = preparingStall
		}
		if now.Sub(m.resent[r.ID]) < stall || r.Agent == "" {
			continue
		}
		m.resent[r.ID] = now
		m.log.Warn("session stalled; sending its command again", "session", r.ID, "status", r.Status, "agent", r.Agent)
		if r.Status == api.StatusTerminating {
			m.destroy(ctx, r.Agent, r.ID)
			_, _ = m.db.UpdateSession(ctx, r.ID, fmt.Sprintf("terminating: destroy command sent to agent %s again", r.Agent), database.Update{})
		} else {
			m.sendCreate(ctx, r)
			_, _ = m.db.UpdateSession(ctx, r.ID, fmt.Sprintf("preparing: create command sent to agent %s again", r.Agent), database.Update{})
		}
	}
}

func (m *Manager) passAll(ctx context.Context) {
	groups, err := m.db.PendingGroups(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("scheduling", "err", err)
		}
		return
	}
	for _, g := range groups {
		if err := m.pass(ctx, g); err != nil && ctx.Err() == nil {
			m.log.Warn("scheduling pass failed", "group", g, "err", err)
		}
	}
}

// pass schedules one group: plan under the group's lock, commit, then send
// the create commands.
func (m *Manager) pass(ctx context.Context, group string) error {
	placed, err := m.db.SchedulePass(ctx, group, func(ctx context.Context, snap database.Snapshot) (database.Outcome, error) {
		return m.decide(ctx, snap)
	})
	if errors.Is(err, database.ErrGroupBusy) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, rec := range placed {
		m.sendCreate(ctx, rec)
	}
	return nil
}

// decide runs the group's policy on the snapshot, falling back to the
// last good policy (else the default built-in) when it fails, and turns
// the plan into an outcome to commit.
func (m *Manager) decide(ctx context.Context, snap database.Snapshot) (database.Outcome, error) {
	g := snap.Group
	used, plan, err := m.planWithFallback(ctx, snap)
	if err != nil {
		return database.Outcome{}, err
	}
	m.logDropped(g.Name, used.name, plan.Dropped)
	out := outcome(plan, used.name)
	if note := used.note; note != g.PolicyNote {
		out.PolicyNote = &note
	}
	return out, nil
}

// logDropped logs the picks the re-check refused (the first few, then a
// count): they are the policy's bugs.
func (m *Manager) logDropped(group, policy string, dropped []scheduler.Dropped) {
	const most = 5
	for i, d := range dropped {
		if i == most {
			m.log.Warn("more picks dropped", "group", group, "policy", policy, "count", len(dropped)-most)
			break
		}
		m.log.Warn("policy pick dropped by the re-check", "group", group, "policy", policy, "session", d.SessionID,
			"agent", d.AgentID, "reason", d.Reason)
	}
}

// Decider returns the decide function of a scheduling pass that runs one
// policy without fallback, for database.DB.SchedulePass; name is the
// policy's name for status reasons, config its config string. If plan is
// not nil it receives the plan (e.g. for its DecideTime). It is the pass
// the manager runs, minus the fallback, for benchmarks and tools.
func Decider(p scheduler.Policy, name, config string, plan *scheduler.Plan) func(context.Context, database.Snapshot) (database.Outcome, error) {
	return func(ctx context.Context, snap database.Snapshot) (database.Outcome, error) {
		pl, err := scheduler.Schedule(ctx, p, input(snap, config))
		if err != nil {
			return database.Outcome{}, fmt.Errorf("policy %s: %w", name, err)
		}
		if plan != nil {
			*plan = pl
		}
		return outcome(pl, name), nil
	}
}

// outcome turns a plan made by policy into what SchedulePass commits.
func outcome(plan scheduler.Plan, policy string) database.Outcome {
	out := database.Outcome{Waiting: plan.Waiting, Cancelled: plan.Cancelled, Cursor: plan.Cursor,
		Placements: make([]database.Placement, 0, len(plan.Placements))}
	if out.Waiting == nil {
		out.Waiting = map[string]string{}
	}
	for _, p := range plan.Placements {
		out.Placements = append(out.Placements, database.Placement{SessionID: p.SessionID, AgentID: p.AgentID, Request: p.Request,
			Info: "placed on agent " + p.AgentID + " by policy " + policy})
	}
	for _, d := range plan.Dropped {
		if _, ok := out.Waiting[d.SessionID]; !ok && d.SessionID != "" {
			out.Waiting[d.SessionID] = fmt.Sprintf("policy %s picked agent %s, refused: %s", policy, d.AgentID, d.Reason)
		}
	}
	return out
}

// usedPolicy says which policy a pass ran and the note to record.
type usedPolicy struct {
	name string
	note string
}

// planWithFallback runs the group's policy; if it fails (load, trap,
// deadline, garbage) it logs, publishes a policy event, and runs the
// fallback, then the default built-in. A policy that failed is skipped
// for a growing number of passes (backoff) until it is activated or
// uploaded again.
func (m *Manager) planWithFallback(ctx context.Context, snap database.Snapshot) (usedPolicy, scheduler.Plan, error) {
	g := snap.Group
	tries := []string{g.Policy}
	if g.FallbackPolicy != "" && g.FallbackPolicy != g.Policy {
		tries = append(tries, g.FallbackPolicy)
	}
	if builtin.Default != g.Policy && builtin.Default != g.FallbackPolicy {
		tries = append(tries, builtin.Default)
	}
	var firstErr error
	note := ""
	fresh := false // the active policy failed in this very pass
	if f, ok := m.backoff.skip(g.Name, g.Policy); ok && len(tries) > 1 {
		tries, firstErr, note = tries[1:], errors.New(f.err), f.note
		if note == "" {
			note = g.PolicyNote
		}
	}
	for _, name := range tries {
		plan, err := m.plan(ctx, name, snap)
		if err == nil {
			u := usedPolicy{name: name, note: note}
			switch {
			case name == g.Policy:
				if m.backoff.succeeded(g.Name, name) {
					m.log.Info("scheduling policy works again", "group", g.Name, "policy", name)
					m.events.PublishPolicy(api.PolicyEvent{Group: g.Name, Policy: name, At: time.Now()})
				}
			case fresh:
				skip := m.backoff.failed(g.Name, g.Policy, firstErr)
				u.note = fmt.Sprintf("fell back from %s to %s: %v (retrying %s after %d passes)", g.Policy, name, firstErr, g.Policy, skip)
				m.backoff.setNote(g.Name, u.note)
				m.log.Warn("scheduling policy failed; group falls back", "group", g.Name, "policy", g.Policy, "fallback", name,
					"err", firstErr, "skip_passes", skip)
				m.events.PublishPolicy(api.PolicyEvent{Group: g.Name, Policy: g.Policy, Fallback: name, Error: firstErr.Error(),
					Note: u.note, At: time.Now()})
			}
			return u, plan, nil
		}
		if ctx.Err() != nil {
			return usedPolicy{}, scheduler.Plan{}, ctx.Err()
		}
		m.log.Warn("scheduling policy failed", "group", g.Name, "policy", name, "err", err)
		if firstErr == nil {
			firstErr, fresh = err, name == g.Policy
		}
	}
	if fresh {
		m.backoff.failed(g.Name, g.Policy, firstErr)
		m.events.PublishPolicy(api.PolicyEvent{Group: g.Name, Policy: g.Policy, Error: firstErr.Error(),
			Note: "every policy failed", At: time.Now()})
	}
	return usedPolicy{}, scheduler.Plan{}, fmt.Errorf("every policy failed; first: %w", firstErr)
}

// plan runs one pass of policy name over snap without committing.
func (m *Manager) plan(ctx context.Context, name string, snap database.Snapshot) (scheduler.Plan, error) {
	p, config, err := m.loadPolicy(ctx, name)
	if err != nil {
		return scheduler.Plan{}, err
	}
	plan, err := scheduler.Schedule(ctx, p, input(snap, config))
	if err != nil {
		return scheduler.Plan{}, fmt.Errorf("policy %s: %w", name, err)
	}
	return plan, nil
}

// input converts a database snapshot to the scheduler's input.
func input(s database.Snapshot, config string) scheduler.Input {
	in := scheduler.Input{Group: s.Group.Name, Config: config, Usage: s.Usage, Cursor: s.Group.Cursor, Now: s.Now,
		Pending: make([]scheduler.Pending, 0, len(s.Pending)), Agents: make([]scheduler.Agent, 0, len(s.Agents))}
	for _, p := range s.Pending {
		in.Pending = append(in.Pending, scheduler.Pending{ID: p.ID, OwnerID: p.OwnerID, Owner: p.Owner, Priority: p.Priority,
			CreatedAt: p.CreatedAt, Request: p.Request, StartsAt: p.StartsAt, DependsOn: p.DependsOn})
	}
	for _, a := range s.Agents {
		in.Agents = append(in.Agents, scheduler.Agent{ID: a.ID, Capacity: a.Capacity, Used: a.Used, Sessions: a.Sessions})
	}
	if len(s.Owners) > 0 {
		in.Owners = make(map[string]scheduler.Owner, len(s.Owners))
		for id, o := range s.Owners {
			in.Owners[id] = scheduler.Owner{Policy: o.Policy, Active: o.Active}
		}
	}
	if len(s.Deps) > 0 {
		in.Deps = make(map[string]scheduler.Dep, len(s.Deps))
		for id, d := range s.Deps {
			in.Deps[id] = scheduler.Dep{Name: d.Name, Type: d.Type, Status: d.Status, Result: d.Result}
		}
	}
	return in
}

// sendCreate sends a placed session's create command to its agent and
// marks it PREPARING; if the command cannot be sent the session fails.
func (m *Manager) sendCreate(ctx context.Context, rec database.Record) {
	cmd := api.Command{ID: uuid.NewString(), Kind: api.CmdCreate, SessionID: rec.ID, IssuedAt: time.Now(),
		Spec: &api.ContainerSpec{SessionID: rec.ID, Name: rec.Name, Type: rec.Type, Image: rec.Image,
			Resources: rec.Resources, Env: rec.Env, Command: rec.Command}}
	if err := m.Send(ctx, rec.Agent, cmd); err != nil {
		m.log.Error("sending create command", "session", rec.ID, "agent", rec.Agent, "err", err)
		if _, err2 := m.db.Transition(ctx, rec.ID, api.StatusError, fmt.Sprintf("could not send the create command to agent %s: %v", rec.Agent, err),
			database.Update{Release: true}); err2 != nil {
			m.log.Error("failing session", "session", rec.ID, "err", err2)
		}
		return
	}
	_, err := m.db.Transition(ctx, rec.ID, api.StatusPreparing, fmt.Sprintf("sent to agent %s", rec.Agent), database.Update{})
	if err != nil && !errors.Is(err, database.ErrBadTransition) {
		// The agent may already have answered (RUNNING); anything else is logged.
		m.log.Warn("marking session preparing", "session", rec.ID, "err", err)
	}
}
