package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/jackc/pgx/v5"
)

// GroupPolicy is a group's scheduling settings.
type GroupPolicy struct {
	Name           string
	Policy         string
	FallbackPolicy string
	PolicyNote     string
	Cursor         int
}

// PendingSession is a PENDING session as the scheduler sees it.
type PendingSession struct {
	ID         string
	Name       string
	OwnerID    string
	Priority   int
	CreatedAt  time.Time
	Request    api.Resources
	StatusInfo string
}

// SchedAgent is an ALIVE agent as the scheduler sees it.
type SchedAgent struct {
	ID       string
	Capacity api.Resources
	Used     api.Resources
	Sessions int
}

// Snapshot is one group's state for a scheduling pass.
type Snapshot struct {
	Group   GroupPolicy
	Pending []PendingSession
	Agents  []SchedAgent
	// Usage is each owner's held resources, by owner ID.
	Usage map[string]api.Resources
	Now   time.Time
}

// Placement is a decision to start a session on an agent.
type Placement struct {
	SessionID string
	AgentID   string
	Request   api.Resources
	// Info is the status reason, e.g. "placed on agent a1 by policy fifo-dispersed".
	Info string
}

// Outcome is what a pass decided.
type Outcome struct {
	Placements []Placement
	// Waiting maps a session that stays PENDING to its reason.
	Waiting map[string]string
	Cursor  int
	// PolicyNote, if not nil, replaces the group's policy note.
	PolicyNote *string
}

// ErrGroupBusy is returned by SchedulePass when another manager holds the
// group's scheduling lock.
var ErrGroupBusy = errors.New("group is being scheduled by another manager")

// PendingGroups lists the groups that have PENDING sessions.
func (db *DB) PendingGroups(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT DISTINCT group_name FROM sessions WHERE status = 'PENDING' ORDER BY group_name`)
	if err != nil {
		return nil, fmt.Errorf("listing groups with pending sessions: %w", err)
	}
	gs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing groups with pending sessions: %w", err)
	}
	return gs, nil
}

// Snapshot loads group's state without locking (for dry runs).
func (db *DB) Snapshot(ctx context.Context, group string) (Snapshot, error) {
	s, err := loadSnapshot(ctx, db.pool, group)
	if err != nil {
		return Snapshot{}, fmt.Errorf("loading state of group %s: %w", group, err)
	}
	return s, nil
}

func loadSnapshot(ctx context.Context, q querier, group string) (Snapshot, error) {
	s := Snapshot{Now: time.Now()}
	err := q.QueryRow(ctx, `SELECT name, policy, fallback_policy, policy_note, rr_cursor FROM resource_groups WHERE name = $1`, group).
		Scan(&s.Group.Name, &s.Group.Policy, &s.Group.FallbackPolicy, &s.Group.PolicyNote, &s.Group.Cursor)
	if err != nil {
		return Snapshot{}, notFound(err)
	}
	rows, err := q.Query(ctx, `SELECT id::text, name, owner_id::text, priority, created_at, cpu_milli, mem, gpu, status_info
		FROM sessions WHERE status = 'PENDING' AND group_name = $1 ORDER BY created_at, id`, group)
	if err != nil {
		return Snapshot{}, err
	}
	s.Pending, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendingSession, error) {
		var p PendingSession
		var cpu int64
		err := r.Scan(&p.ID, &p.Name, &p.OwnerID, &p.Priority, &p.CreatedAt, &cpu, &p.Request.Mem, &p.Request.GPU, &p.StatusInfo)
		p.Request.CPU = float64(cpu) / 1000
		return p, err
	})
	if err != nil {
		return Snapshot{}, err
	}
	rows, err = q.Query(ctx, `SELECT a.id, a.cap_cpu_milli, a.cap_mem, a.cap_gpu, a.used_cpu_milli, a.used_mem, a.used_gpu,
		(SELECT count(*) FROM sessions s WHERE s.agent_id = a.id AND s.holds_usage)
		FROM agents a WHERE a.group_name = $1 AND a.status = 'ALIVE' ORDER BY a.id`, group)
	if err != nil {
		return Snapshot{}, err
	}
	s.Agents, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SchedAgent, error) {
		var a SchedAgent
		var capCPU, usedCPU int64
		err := r.Scan(&a.ID, &capCPU, &a.Capacity.Mem, &a.Capacity.GPU, &usedCPU, &a.Used.Mem, &a.Used.GPU, &a.Sessions)
		a.Capacity.CPU, a.Used.CPU = float64(capCPU)/1000, float64(usedCPU)/1000
		return a, err
	})
	if err != nil {
		return Snapshot{}, err
	}
	s.Usage, err = userUsage(ctx, q)
	if err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// SchedulePass runs one scheduling pass for group in one transaction that
// holds the group's advisory lock (ErrGroupBusy if another manager has it):
// it loads the snapshot, asks decide, and commits the outcome. Each
// placement is re-checked against the locked agent row (ALIVE, same group,
// enough free); one that no longer fits stays PENDING. Placed sessions
// become SCHEDULED with their agent's usage raised. It returns the placed
// sessions.
func (db *DB) SchedulePass(ctx context.Context, group string, decide func(context.Context, Snapshot) (Outcome, error)) ([]Record, error) {
	var placed, changed []Record
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		placed, changed = nil, nil
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('berth:schedule:' || $1))`, group).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return ErrGroupBusy
		}
		snap, err := loadSnapshot(ctx, tx, group)
		if err != nil {
			return err
		}
		if len(snap.Pending) == 0 {
			return nil
		}
		out, err := decide(ctx, snap)
		if err != nil {
			return err
		}
		waiting := map[string]string{}
		for id, why := range out.Waiting {
			waiting[id] = why
		}
		for _, p := range out.Placements {
			if why, err := placeTx(ctx, tx, group, p); errors.Is(err, errNotPending) {
				continue
			} else if err != nil {
				return err
			} else if why != "" {
				waiting[p.SessionID] = why
				continue
			}
			rec, err := transitionTx(ctx, tx, p.SessionID, api.StatusScheduled, p.Info, Update{})
			if err != nil {
				return fmt.Errorf("placing session %s: %w", p.SessionID, err)
			}
			placed = append(placed, rec)
		}
		for _, p := range snap.Pending {
			why, ok := waiting[p.ID]
			if !ok || why == "" || why == p.StatusInfo {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE sessions SET status_info = $2 WHERE id::text = $1 AND status = 'PENDING'`, p.ID, why); err != nil {
				return err
			}
			rec, err := loadTx(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			changed = append(changed, rec)
		}
		if _, err := tx.Exec(ctx, `UPDATE resource_groups SET rr_cursor = $2 WHERE name = $1`, group, out.Cursor); err != nil {
			return err
		}
		if out.PolicyNote != nil {
			if _, err := tx.Exec(ctx, `UPDATE resource_groups SET policy_note = $2 WHERE name = $1`, group, *out.PolicyNote); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrGroupBusy) {
		return nil, ErrGroupBusy
	}
	if err != nil {
		return nil, fmt.Errorf("scheduling group %s: %w", group, err)
	}
	for _, r := range append(placed, changed...) {
		db.notify(r.Session)
	}
	return placed, nil
}

var errNotPending = errors.New("session is no longer pending")

// placeTx locks the agent and the session and, if the placement still
// fits, marks the session as holding usage on the agent and raises the
// agent's usage. It returns a reason when the placement no longer fits.
func placeTx(ctx context.Context, tx pgx.Tx, group string, p Placement) (string, error) {
	var status, agentGroup string
	var capCPU, capMem, usedCPU, usedMem int64
	var capGPU, usedGPU int
	err := tx.QueryRow(ctx, `SELECT status, group_name, cap_cpu_milli, cap_mem, cap_gpu, used_cpu_milli, used_mem, used_gpu
		FROM agents WHERE id = $1 FOR UPDATE`, p.AgentID).
		Scan(&status, &agentGroup, &capCPU, &capMem, &capGPU, &usedCPU, &usedMem, &usedGPU)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Sprintf("agent %s is unknown", p.AgentID), nil
	}
	if err != nil {
		return "", err
	}
	if status != api.AgentAlive || agentGroup != group {
		return fmt.Sprintf("agent %s is no longer available in group %s", p.AgentID, group), nil
	}
	var sessStatus string
	var cpu, mem int64
	var gpu int
	err = tx.QueryRow(ctx, `SELECT status, cpu_milli, mem, gpu FROM sessions WHERE id::text = $1 FOR UPDATE`, p.SessionID).
		Scan(&sessStatus, &cpu, &mem, &gpu)
	if err != nil {
		return "", notFound(err)
	}
	if sessStatus != string(api.StatusPending) {
		return "", errNotPending // changed meanwhile, e.g. cancelled
	}
	if usedCPU+cpu > capCPU || usedMem+mem > capMem || usedGPU+gpu > capGPU {
		return fmt.Sprintf("agent %s no longer has room for the request", p.AgentID), nil
	}
	if _, err := tx.Exec(ctx, `UPDATE agents SET used_cpu_milli = used_cpu_milli + $2, used_mem = used_mem + $3,
		used_gpu = used_gpu + $4 WHERE id = $1`, p.AgentID, cpu, mem, gpu); err != nil {
		return "", err
	}
	_, err = tx.Exec(ctx, `UPDATE sessions SET agent_id = $2, holds_usage = true WHERE id::text = $1`, p.SessionID, p.AgentID)
	return "", err
}
