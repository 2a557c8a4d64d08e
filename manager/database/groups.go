package database

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/api"
	"github.com/jackc/pgx/v5"
)

const groupCols = `g.name, g.description, g.policy, g.fallback_policy, g.policy_note, g.created_at,
	(SELECT count(*) FROM agents a WHERE a.group_name = g.name AND a.status = 'ALIVE')`

func scanGroup(row pgx.Row) (api.Group, error) {
	var g api.Group
	err := row.Scan(&g.Name, &g.Description, &g.Policy, &g.FallbackPolicy, &g.PolicyNote, &g.CreatedAt, &g.Agents)
	return g, notFound(err)
}

// Groups lists the resource groups by name.
func (db *DB) Groups(ctx context.Context) ([]api.Group, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+groupCols+` FROM resource_groups g ORDER BY g.name`)
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.Group, error) { return scanGroup(r) })
	if err != nil {
		return nil, fmt.Errorf("listing groups: %w", err)
	}
	return gs, nil
}

// Group returns one resource group.
func (db *DB) Group(ctx context.Context, name string) (api.Group, error) {
	g, err := scanGroup(db.pool.QueryRow(ctx, `SELECT `+groupCols+` FROM resource_groups g WHERE g.name = $1`, name))
	if err != nil {
		return api.Group{}, fmt.Errorf("looking up group %s: %w", name, err)
	}
	return g, nil
}

// CreateGroup adds a resource group with the default policy (ErrConflict
// if the name is taken).
func (db *DB) CreateGroup(ctx context.Context, name, description string) (api.Group, error) {
	_, err := db.pool.Exec(ctx, `INSERT INTO resource_groups (name, description) VALUES ($1, $2)`, name, description)
	if isUnique(err) {
		return api.Group{}, fmt.Errorf("creating group %s: %w", name, ErrConflict)
	}
	if err != nil {
		return api.Group{}, fmt.Errorf("creating group %s: %w", name, err)
	}
	return db.Group(ctx, name)
}

// ActivatePolicy makes policy the active scheduler policy of group; the
// previous one becomes the fallback. It takes effect on the next pass.
func (db *DB) ActivatePolicy(ctx context.Context, group, policy string) (api.Group, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE resource_groups SET
		fallback_policy = CASE WHEN policy = $2 THEN fallback_policy ELSE policy END,
		policy = $2, policy_note = '' WHERE name = $1`, group, policy)
	if err != nil {
		return api.Group{}, fmt.Errorf("activating policy %s for group %s: %w", policy, group, err)
	}
	if tag.RowsAffected() == 0 {
		return api.Group{}, fmt.Errorf("activating policy %s: group %s: %w", policy, group, ErrNotFound)
	}
	return db.Group(ctx, group)
}

// SetPolicyNote records what happened with a group's policy (e.g. a
// fallback); empty clears it.
func (db *DB) SetPolicyNote(ctx context.Context, group, note string) error {
	_, err := db.pool.Exec(ctx, `UPDATE resource_groups SET policy_note = $2 WHERE name = $1 AND policy_note <> $2`, group, note)
	if err != nil {
		return fmt.Errorf("setting policy note of %s: %w", group, err)
	}
	return nil
}
