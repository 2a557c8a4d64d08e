package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager"
	"github.com/berth-dev/berth/manager/database"
	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// benchGroup is the resource group the synthetic agents and sessions are in.
const benchGroup = "bench"

// passResult times one full scheduling pass as the manager runs it.
type passResult struct {
	placements int
	// snapshot: loading the group; schedule: validators + policy +
	// re-check (decide is the policy call alone); commit: writing the
	// outcome; total: all of it, in one transaction.
	snapshot, schedule, decide, commit, total time.Duration
	placed                                    map[string]string // session name -> agent
}

// resetDatabase empties the database at url (dropping the public
// schema), applies the migrations and loads in: its agents (ALIVE, in
// group bench), its owners as users and its pending sessions.
func resetDatabase(ctx context.Context, url string, in scheduler.Input) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		return fmt.Errorf("emptying the database: %w", err)
	}
	db, err := database.Open(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO resource_groups (name, policy) VALUES ($1, 'drf-dispersed')`, benchGroup); err != nil {
		return fmt.Errorf("creating group: %w", err)
	}
	users := map[string]string{} // owner ID in the input -> user UUID
	var userRows [][]any
	for _, p := range in.Pending {
		if _, ok := users[p.OwnerID]; !ok {
			users[p.OwnerID] = stableID(p.OwnerID)
			userRows = append(userRows, []any{users[p.OwnerID], p.OwnerID + "@bench.invalid", "-"})
		}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "email", "password_hash"}, pgx.CopyFromRows(userRows)); err != nil {
		return fmt.Errorf("loading users: %w", err)
	}
	agentRows := make([][]any, len(in.Agents))
	for i, a := range in.Agents {
		agentRows[i] = []any{a.ID, benchGroup, "127.0.0.1", api.AgentAlive, a.Capacity.CPUMilli(), a.Capacity.Mem, a.Capacity.GPU,
			a.Used.CPUMilli(), a.Used.Mem, a.Used.GPU}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"agents"}, []string{"id", "group_name", "address", "status",
		"cap_cpu_milli", "cap_mem", "cap_gpu", "used_cpu_milli", "used_mem", "used_gpu"}, pgx.CopyFromRows(agentRows)); err != nil {
		return fmt.Errorf("loading agents: %w", err)
	}
	sessRows := make([][]any, len(in.Pending))
	for i, p := range in.Pending {
		sessRows[i] = []any{stableID(p.ID), p.ID, users[p.OwnerID], "localhost/bench", string(api.TypeInteractive), benchGroup,
			string(api.StatusPending), "enqueued", p.Request.CPUMilli(), p.Request.Mem, p.Request.GPU, p.Priority, p.CreatedAt}
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"sessions"}, []string{"id", "name", "owner_id", "image", "type", "group_name",
		"status", "status_info", "cpu_milli", "mem", "gpu", "priority", "created_at"}, pgx.CopyFromRows(sessRows)); err != nil {
		return fmt.Errorf("loading sessions: %w", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO session_history (session_id, status, info) SELECT id, 'PENDING', 'enqueued' FROM sessions;
		ANALYZE`); err != nil {
		return fmt.Errorf("loading history: %w", err)
	}
	return nil
}

// stableID derives a UUID from a synthetic ID, so that every load of the
// same input orders sessions and owners alike (ties in created_at are
// broken by ID) and the Wasm and native passes see the very same group.
func stableID(s string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte("berth-bench:"+s)).String()
}

// runPass loads in into the database at url and runs one scheduling pass
// of policy p over it with the manager's own pass (database.SchedulePass
// with manager.Decider: snapshot, validators, policy, re-check and the
// batched commit, in one transaction).
func runPass(ctx context.Context, url string, in scheduler.Input, p scheduler.Policy, name, config string) (passResult, error) {
	if err := resetDatabase(ctx, url, in); err != nil {
		return passResult{}, err
	}
	db, err := database.Open(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), url)
	if err != nil {
		return passResult{}, err
	}
	defer db.Close()
	var plan scheduler.Plan
	decide := manager.Decider(p, name, config, &plan)
	var entered, left time.Time
	start := time.Now()
	placed, err := db.SchedulePass(ctx, benchGroup, func(ctx context.Context, s database.Snapshot) (database.Outcome, error) {
		entered = time.Now()
		defer func() { left = time.Now() }()
		return decide(ctx, s)
	})
	end := time.Now()
	if err != nil {
		return passResult{}, err
	}
	if len(plan.Dropped) > 0 {
		return passResult{}, fmt.Errorf("%d picks dropped, e.g. %s", len(plan.Dropped), plan.Dropped[0].Reason)
	}
	r := passResult{placements: len(placed), snapshot: entered.Sub(start), schedule: left.Sub(entered), decide: plan.DecideTime,
		commit: end.Sub(left), total: end.Sub(start), placed: make(map[string]string, len(placed))}
	for _, rec := range placed {
		r.placed[rec.Name] = rec.Agent
	}
	return r, nil
}
