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
	out := database.Outcome{Waiting: plan.Waiting, Cursor: plan.Cursor}
	if out.Waiting == nil {
		out.Waiting = map[string]string{}
	}
	for _, p := range plan.Placements {
		out.Placements = append(out.Placements, database.Placement{SessionID: p.SessionID, AgentID: p.AgentID, Request: p.Request,
			Info: fmt.Sprintf("placed on agent %s by policy %s", p.AgentID, used.name)})
	}
	for _, d := range plan.Dropped {
		if _, ok := out.Waiting[d.SessionID]; !ok {
			out.Waiting[d.SessionID] = fmt.Sprintf("policy %s picked agent %s, refused: %s", used.name, d.AgentID, d.Reason)
		}
	}
	if note := used.note; note != g.PolicyNote {
		out.PolicyNote = &note
	}
	return out, nil
}

// usedPolicy says which policy a pass ran and the note to record.
type usedPolicy struct {
	name string
	note string
}

// planWithFallback runs the group's policy; if it fails (load, trap,
// deadline, garbage) it logs, and runs the fallback, then the default
// built-in.
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
	for _, name := range tries {
		plan, err := m.plan(ctx, name, snap)
		if err == nil {
			u := usedPolicy{name: name}
			if firstErr != nil {
				u.note = fmt.Sprintf("fell back from %s to %s: %v", g.Policy, name, firstErr)
			}
			return u, plan, nil
		}
		if ctx.Err() != nil {
			return usedPolicy{}, scheduler.Plan{}, ctx.Err()
		}
		m.log.Warn("scheduling policy failed", "group", g.Name, "policy", name, "err", err)
		if firstErr == nil {
			firstErr = err
		}
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
	in := scheduler.Input{Group: s.Group.Name, Config: config, Usage: s.Usage, Cursor: s.Group.Cursor, Now: s.Now}
	for _, p := range s.Pending {
		in.Pending = append(in.Pending, scheduler.Pending{ID: p.ID, OwnerID: p.OwnerID, Priority: p.Priority,
			CreatedAt: p.CreatedAt, Request: p.Request})
	}
	for _, a := range s.Agents {
		in.Agents = append(in.Agents, scheduler.Agent{ID: a.ID, Capacity: a.Capacity, Used: a.Used, Sessions: a.Sessions})
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
