package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-dev/berth/api"
	"github.com/jackc/pgx/v5"
)

// committed is what commitTx changed: the placed sessions (outcome order)
// and the sessions whose reason or status changed otherwise.
type committed struct {
	placed, changed []Record
}

// lockedAgent is an agent row locked by commitTx.
type lockedAgent struct {
	status, group string
	free          [3]int64 // cpu milli, mem, gpu
}

// commitTx writes a pass's outcome inside the pass's transaction, with a
// fixed number of statements however many sessions it places:
//
//  1. lock the placed sessions, then their agents (the order Transition
//     uses, so the two never deadlock);
//  2. re-check every placement in order against the locked rows: the
//     session must still be PENDING (else it is skipped: cancelled
//     meanwhile), the agent ALIVE in the group with room left after the
//     earlier placements (else the session waits with the reason);
//  3. one UPDATE ... FROM unnest(...) for the sessions, one for the agents'
//     usage, one INSERT ... SELECT unnest(...) for the history rows;
//  4. one UPDATE for the waiting reasons that changed, a Transition per
//     cancelled session (rare), one UPDATE for the group's cursor and note.
func commitTx(ctx context.Context, tx pgx.Tx, snap Snapshot, out Outcome) (committed, error) {
	var c committed
	group := snap.Group.Name
	waiting := make(map[string]string, len(out.Waiting))
	for id, why := range out.Waiting {
		waiting[id] = why
	}

	var ids, agentIDs []string
	seen := make(map[string]bool, len(out.Placements))
	for _, p := range out.Placements {
		if seen[p.SessionID] {
			continue
		}
		seen[p.SessionID] = true
		ids = append(ids, p.SessionID)
		agentIDs = append(agentIDs, p.AgentID)
	}
	type sessRow struct {
		status string
		req    [3]int64
	}
	sessions := make(map[string]sessRow, len(ids))
	agents := map[string]*lockedAgent{}
	if len(ids) > 0 {
		rows, err := tx.Query(ctx, `SELECT id::text, status, cpu_milli, mem, gpu FROM sessions
			WHERE id = ANY($1::text[]::uuid[]) ORDER BY id FOR UPDATE`, ids)
		if err != nil {
			return c, fmt.Errorf("locking placed sessions: %w", err)
		}
		for rows.Next() {
			var id string
			var r sessRow
			if err := rows.Scan(&id, &r.status, &r.req[0], &r.req[1], &r.req[2]); err != nil {
				rows.Close()
				return c, fmt.Errorf("locking placed sessions: %w", err)
			}
			sessions[id] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c, fmt.Errorf("locking placed sessions: %w", err)
		}
		rows, err = tx.Query(ctx, `SELECT id, status, group_name, cap_cpu_milli - used_cpu_milli, cap_mem - used_mem,
			cap_gpu - used_gpu FROM agents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, agentIDs)
		if err != nil {
			return c, fmt.Errorf("locking agents: %w", err)
		}
		for rows.Next() {
			var id string
			a := &lockedAgent{}
			if err := rows.Scan(&id, &a.status, &a.group, &a.free[0], &a.free[1], &a.free[2]); err != nil {
				rows.Close()
				return c, fmt.Errorf("locking agents: %w", err)
			}
			agents[id] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return c, fmt.Errorf("locking agents: %w", err)
		}
	}

	var pIDs, pAgents, pInfos []string
	add := map[string]*[3]int64{}
	var addIDs []string
	done := make(map[string]bool, len(ids))
	for _, p := range out.Placements {
		if done[p.SessionID] {
			continue
		}
		done[p.SessionID] = true
		s, ok := sessions[p.SessionID]
		if !ok || s.status != string(api.StatusPending) {
			delete(waiting, p.SessionID) // gone or changed meanwhile, e.g. cancelled
			continue
		}
		a, ok := agents[p.AgentID]
		switch {
		case !ok:
			waiting[p.SessionID] = fmt.Sprintf("agent %s is unknown", p.AgentID)
			continue
		case a.status != api.AgentAlive || a.group != group:
			waiting[p.SessionID] = fmt.Sprintf("agent %s is no longer available in group %s", p.AgentID, group)
			continue
		case s.req[0] > a.free[0] || s.req[1] > a.free[1] || s.req[2] > a.free[2]:
			waiting[p.SessionID] = fmt.Sprintf("agent %s no longer has room for the request", p.AgentID)
			continue
		}
		for i := range a.free {
			a.free[i] -= s.req[i]
		}
		sum := add[p.AgentID]
		if sum == nil {
			sum = &[3]int64{}
			add[p.AgentID] = sum
			addIDs = append(addIDs, p.AgentID)
		}
		for i := range sum {
			sum[i] += s.req[i]
		}
		delete(waiting, p.SessionID)
		pIDs, pAgents, pInfos = append(pIDs, p.SessionID), append(pAgents, p.AgentID), append(pInfos, p.Info)
	}

	if len(pIDs) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE sessions s SET status = 'SCHEDULED', status_info = v.info, agent_id = v.agent,
			holds_usage = true FROM unnest($1::text[], $2::text[], $3::text[]) AS v(id, agent, info) WHERE s.id = v.id::uuid`,
			pIDs, pAgents, pInfos); err != nil {
			return c, fmt.Errorf("placing sessions: %w", err)
		}
		cpu, mem, gpu := make([]int64, len(addIDs)), make([]int64, len(addIDs)), make([]int64, len(addIDs))
		for i, id := range addIDs {
			cpu[i], mem[i], gpu[i] = add[id][0], add[id][1], add[id][2]
		}
		if _, err := tx.Exec(ctx, `UPDATE agents a SET used_cpu_milli = a.used_cpu_milli + v.cpu, used_mem = a.used_mem + v.mem,
			used_gpu = a.used_gpu + v.gpu FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(id, cpu, mem, gpu)
			WHERE a.id = v.id`, addIDs, cpu, mem, gpu); err != nil {
			return c, fmt.Errorf("raising agents' usage: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO session_history (session_id, status, info)
			SELECT v.id::uuid, 'SCHEDULED', v.info FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS v(id, info, n) ORDER BY v.n`,
			pIDs, pInfos); err != nil {
			return c, fmt.Errorf("recording placements: %w", err)
		}
		recs, err := loadMany(ctx, tx, pIDs)
		if err != nil {
			return c, fmt.Errorf("loading placed sessions: %w", err)
		}
		c.placed = recs
	}

	var wIDs, wInfos []string
	for _, p := range snap.Pending {
		if why, ok := waiting[p.ID]; ok && why != "" && why != p.StatusInfo && out.Cancelled[p.ID] == "" {
			wIDs, wInfos = append(wIDs, p.ID), append(wInfos, why)
		}
	}
	if len(wIDs) > 0 {
		rows, err := tx.Query(ctx, `UPDATE sessions s SET status_info = v.info FROM unnest($1::text[], $2::text[]) AS v(id, info)
			WHERE s.id = v.id::uuid AND s.status = 'PENDING' RETURNING s.id::text`, wIDs, wInfos)
		if err != nil {
			return c, fmt.Errorf("recording waiting reasons: %w", err)
		}
		changed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return c, fmt.Errorf("recording waiting reasons: %w", err)
		}
		if c.changed, err = loadMany(ctx, tx, changed); err != nil {
			return c, fmt.Errorf("loading waiting sessions: %w", err)
		}
	}
	for id, why := range out.Cancelled {
		rec, err := transitionTx(ctx, tx, id, api.StatusCancelled, why, Update{})
		if errors.Is(err, ErrBadTransition) || errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return c, fmt.Errorf("cancelling session %s: %w", id, err)
		}
		c.changed = append(c.changed, rec)
	}
	if _, err := tx.Exec(ctx, `UPDATE resource_groups SET rr_cursor = $2, policy_note = coalesce($3, policy_note) WHERE name = $1`,
		group, out.Cursor, out.PolicyNote); err != nil {
		return c, fmt.Errorf("updating group %s: %w", group, err)
	}
	return c, nil
}

// loadMany loads sessions by ID, in the order of ids.
func loadMany(ctx context.Context, q querier, ids []string) ([]Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.id = ANY($1::text[]::uuid[])`, ids)
	if err != nil {
		return nil, err
	}
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Record, error) { return scanSession(r) })
	if err != nil {
		return nil, err
	}
	pos := make(map[string]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	out := make([]Record, len(ids))
	n := 0
	for _, r := range recs {
		if i, ok := pos[r.ID]; ok {
			out[i] = r
			n++
		}
	}
	if n != len(ids) {
		compact := out[:0]
		for _, r := range out {
			if r.ID != "" {
				compact = append(compact, r)
			}
		}
		out = compact
	}
	return out, nil
}
