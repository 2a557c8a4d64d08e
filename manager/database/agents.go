package database

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/jackc/pgx/v5"
)

// agentInfo is the jsonb info column of agents.
type agentInfo struct {
	GPUs      []api.GPU `json:"gpus"`
	GPUInfo   string    `json:"gpu_info"`
	NUMANodes int       `json:"numa_nodes"`
	Version   string    `json:"version"`
}

// UpsertAgent records a heartbeat: the agent becomes ALIVE with the given
// capacity and details (its usage is the manager's own count and is kept).
// An unknown group is created. It reports whether the agent is new or was
// not ALIVE before (so the scheduler should look again).
func (db *DB) UpsertAgent(ctx context.Context, a api.Agent, now time.Time) (changed bool, err error) {
	if a.Group == "" {
		a.Group = "default"
	}
	info, err := json.Marshal(agentInfo{GPUs: a.GPUs, GPUInfo: a.GPUInfo, NUMANodes: a.NUMANodes, Version: a.Version})
	if err != nil {
		return false, fmt.Errorf("encoding agent info: %w", err)
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO resource_groups (name, description) VALUES ($1, 'created for agent '||$2)
			ON CONFLICT (name) DO NOTHING`, a.Group, a.ID); err != nil {
			return err
		}
		var prev *string
		err := tx.QueryRow(ctx, `SELECT status FROM agents WHERE id = $1 FOR UPDATE`, a.ID).Scan(&prev)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		changed = prev == nil || *prev != api.AgentAlive
		_, err = tx.Exec(ctx, `INSERT INTO agents (id, group_name, address, status, cap_cpu_milli, cap_mem, cap_gpu, info, last_seen, first_seen)
			VALUES ($1, $2, $3, 'ALIVE', $4, $5, $6, $7, $8, $8)
			ON CONFLICT (id) DO UPDATE SET group_name = $2, address = $3, status = 'ALIVE',
				cap_cpu_milli = $4, cap_mem = $5, cap_gpu = $6, info = $7, last_seen = $8`,
			a.ID, a.Group, a.Address, a.Capacity.CPUMilli(), a.Capacity.Mem, a.Capacity.GPU, info, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("recording heartbeat of agent %s: %w", a.ID, err)
	}
	return changed, nil
}

const agentCols = `a.id, a.address, a.group_name, a.status, a.cap_cpu_milli, a.cap_mem, a.cap_gpu,
	a.used_cpu_milli, a.used_mem, a.used_gpu, a.info, a.last_seen,
	(SELECT count(*) FROM sessions s WHERE s.agent_id = a.id AND s.holds_usage)`

func scanAgent(row pgx.Row) (api.Agent, error) {
	var a api.Agent
	var capCPU, usedCPU int64
	var info []byte
	err := row.Scan(&a.ID, &a.Address, &a.Group, &a.Status, &capCPU, &a.Capacity.Mem, &a.Capacity.GPU,
		&usedCPU, &a.Used.Mem, &a.Used.GPU, &info, &a.LastSeen, &a.Sessions)
	if err != nil {
		return api.Agent{}, notFound(err)
	}
	a.Capacity.CPU = float64(capCPU) / 1000
	a.Used.CPU = float64(usedCPU) / 1000
	var ai agentInfo
	if err := json.Unmarshal(info, &ai); err != nil {
		return api.Agent{}, fmt.Errorf("decoding info of agent %s: %w", a.ID, err)
	}
	a.GPUs, a.GPUInfo, a.NUMANodes, a.Version = ai.GPUs, ai.GPUInfo, ai.NUMANodes, ai.Version
	if a.GPUs == nil {
		a.GPUs = []api.GPU{}
	}
	return a, nil
}

// Agents lists all agents by ID.
func (db *DB) Agents(ctx context.Context) ([]api.Agent, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+agentCols+` FROM agents a ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("listing agents: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.Agent, error) { return scanAgent(r) })
	if err != nil {
		return nil, fmt.Errorf("listing agents: %w", err)
	}
	return as, nil
}

// Agent returns one agent.
func (db *DB) Agent(ctx context.Context, id string) (api.Agent, error) {
	a, err := scanAgent(db.pool.QueryRow(ctx, `SELECT `+agentCols+` FROM agents a WHERE a.id = $1`, id))
	if err != nil {
		return api.Agent{}, fmt.Errorf("looking up agent %s: %w", id, err)
	}
	return a, nil
}

// MarkLostAgents marks LOST every ALIVE agent last seen before cutoff and
// returns their IDs. Their sessions stay as they are.
func (db *DB) MarkLostAgents(ctx context.Context, cutoff time.Time) ([]string, error) {
	rows, err := db.pool.Query(ctx, `UPDATE agents SET status = 'LOST' WHERE status = 'ALIVE' AND last_seen < $1 RETURNING id`, cutoff)
	if err != nil {
		return nil, fmt.Errorf("marking lost agents: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("marking lost agents: %w", err)
	}
	return ids, nil
}

// CountAliveAgents returns how many agents are ALIVE.
func (db *DB) CountAliveAgents(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM agents WHERE status = 'ALIVE'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting agents: %w", err)
	}
	return n, nil
}
