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
	Owner      string // the owner's email
	Priority   int
	CreatedAt  time.Time
	Request    api.Resources
	StatusInfo string
	// StartsAt is the reserved start time (zero: none).
	StartsAt time.Time
	// DependsOn are the IDs of the sessions it waits for.
	DependsOn []string
}

// SchedAgent is an ALIVE agent as the scheduler sees it.
type SchedAgent struct {
	ID       string
	Capacity api.Resources
	Used     api.Resources
	Sessions int
}

// SchedOwner is the owner of a pending session: their resource policy and
// how many placed, not yet ended sessions they have (in every group).
type SchedOwner struct {
	Policy api.ResourcePolicy
	Active int
}

// SchedDep is a session that a pending session depends on.
type SchedDep struct {
	Name   string
	Type   api.SessionType
	Status api.SessionStatus
	Result string
}

// Snapshot is one group's state for a scheduling pass.
type Snapshot struct {
	Group   GroupPolicy
	Pending []PendingSession
	Agents  []SchedAgent
	// Usage is each owner's held resources, by owner ID.
	Usage map[string]api.Resources
	// Owners are the pending sessions' owners, by owner ID.
	Owners map[string]SchedOwner
	// Deps are the sessions the pending ones depend on, by ID.
	Deps map[string]SchedDep
	Now  time.Time
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
	// Cancelled maps a session to cancel to its reason.
	Cancelled map[string]string
	Cursor    int
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
	rows, err := q.Query(ctx, `SELECT s.id::text, s.name, s.owner_id::text, u.email, s.priority, s.created_at,
		s.cpu_milli, s.mem, s.gpu, s.status_info, s.starts_at, s.depends_on::text[]
		FROM sessions s JOIN users u ON u.id = s.owner_id
		WHERE s.status = 'PENDING' AND s.group_name = $1 ORDER BY s.created_at, s.id`, group)
	if err != nil {
		return Snapshot{}, err
	}
	s.Pending, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendingSession, error) {
		var p PendingSession
		var cpu int64
		var startsAt *time.Time
		err := r.Scan(&p.ID, &p.Name, &p.OwnerID, &p.Owner, &p.Priority, &p.CreatedAt, &cpu, &p.Request.Mem, &p.Request.GPU,
			&p.StatusInfo, &startsAt, &p.DependsOn)
		p.Request.CPU = float64(cpu) / 1000
		if startsAt != nil {
			p.StartsAt = *startsAt
		}
		return p, err
	})
	if err != nil {
		return Snapshot{}, err
	}
	rows, err = q.Query(ctx, `SELECT a.id, a.cap_cpu_milli, a.cap_mem, a.cap_gpu, a.used_cpu_milli, a.used_mem, a.used_gpu,
		coalesce(c.n, 0)
		FROM agents a LEFT JOIN (SELECT agent_id, count(*) AS n FROM sessions WHERE holds_usage GROUP BY agent_id) c
		ON c.agent_id = a.id
		WHERE a.group_name = $1 AND a.status = 'ALIVE' ORDER BY a.id`, group)
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
	if s.Usage, err = userUsage(ctx, q); err != nil {
		return Snapshot{}, err
	}
	if len(s.Pending) == 0 {
		return s, nil
	}
	if s.Owners, err = pendingOwners(ctx, q, group); err != nil {
		return Snapshot{}, err
	}
	if s.Deps, err = pendingDeps(ctx, q, group); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// pendingOwners loads the resource policies and live session counts of
// the owners of group's pending sessions.
func pendingOwners(ctx context.Context, q querier, group string) (map[string]SchedOwner, error) {
	rows, err := q.Query(ctx, `SELECT `+resourcePolicyCols+`, u.id::text,
		(SELECT count(*) FROM sessions x WHERE x.owner_id = u.id AND x.status IN ('SCHEDULED', 'PREPARING', 'RUNNING', 'TERMINATING'))
		FROM users u JOIN resource_policies rp ON rp.name = u.resource_policy
		WHERE u.id IN (SELECT owner_id FROM sessions WHERE status = 'PENDING' AND group_name = $1)`, group)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]SchedOwner{}
	for rows.Next() {
		var id string
		var o SchedOwner
		if o.Policy, err = scanResourcePolicy(rows, &id, &o.Active); err != nil {
			return nil, err
		}
		out[id] = o
	}
	return out, rows.Err()
}

// pendingDeps loads the sessions that group's pending sessions depend on.
func pendingDeps(ctx context.Context, q querier, group string) (map[string]SchedDep, error) {
	rows, err := q.Query(ctx, `SELECT d.id::text, d.name, d.type, d.status, d.result FROM sessions d
		WHERE d.id IN (SELECT unnest(depends_on) FROM sessions WHERE status = 'PENDING' AND group_name = $1 AND depends_on <> '{}')`, group)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]SchedDep{}
	for rows.Next() {
		var id string
		var d SchedDep
		if err := rows.Scan(&id, &d.Name, &d.Type, &d.Status, &d.Result); err != nil {
			return nil, err
		}
		out[id] = d
	}
	return out, rows.Err()
}

// SchedulePass runs one scheduling pass for group in one transaction that
// holds the group's advisory lock (ErrGroupBusy if another manager has it):
// it loads the snapshot, asks decide, and commits the outcome in a few
// batched statements (commitTx). It returns the placed sessions, in the
// outcome's order.
func (db *DB) SchedulePass(ctx context.Context, group string, decide func(context.Context, Snapshot) (Outcome, error)) ([]Record, error) {
	var c committed
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		c = committed{}
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
		c, err = commitTx(ctx, tx, snap, out)
		return err
	})
	if errors.Is(err, ErrGroupBusy) {
		return nil, ErrGroupBusy
	}
	if err != nil {
		return nil, fmt.Errorf("scheduling group %s: %w", group, err)
	}
	for _, r := range c.placed {
		db.notify(r.Session)
	}
	for _, r := range c.changed {
		db.notify(r.Session)
	}
	return c.placed, nil
}
