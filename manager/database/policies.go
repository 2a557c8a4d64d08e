package database

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/berth-dev/berth/api"
	"github.com/jackc/pgx/v5"
)

// StorePolicy stores wasm as the next version of policy name (1 for a new
// name) and returns its metadata.
func (db *DB) StorePolicy(ctx context.Context, name, kind string, wasm []byte) (api.Policy, error) {
	sum := sha256.Sum256(wasm)
	p := api.Policy{Name: name, Kind: kind, Hash: hex.EncodeToString(sum[:]), Size: len(wasm)}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('berth:policy:' || $1))`, name); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO policies (name, version, kind, hash, size, wasm)
			VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM policies WHERE name = $1), $2, $3, $4, $5)
			RETURNING version, created_at`, name, kind, p.Hash, p.Size, wasm).Scan(&p.Version, &p.CreatedAt)
	})
	if err != nil {
		return api.Policy{}, fmt.Errorf("storing policy %s: %w", name, err)
	}
	return p, nil
}

const policyCols = `p.name, p.kind, p.version, p.hash, p.size, p.created_at,
	coalesce((SELECT array_agg(g.name ORDER BY g.name) FROM resource_groups g WHERE g.policy = p.name), '{}')`

// Policies lists the latest version of each stored policy, by name, with
// the groups where it is active.
func (db *DB) Policies(ctx context.Context) ([]api.Policy, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+policyCols+` FROM policies p
		WHERE p.version = (SELECT max(version) FROM policies q WHERE q.name = p.name) ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.Policy, error) {
		var p api.Policy
		err := r.Scan(&p.Name, &p.Kind, &p.Version, &p.Hash, &p.Size, &p.CreatedAt, &p.Groups)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	return ps, nil
}

// PolicyWasm returns the latest stored version of policy name and its
// module bytes.
func (db *DB) PolicyWasm(ctx context.Context, name string) (api.Policy, []byte, error) {
	var p api.Policy
	var wasm []byte
	err := db.pool.QueryRow(ctx, `SELECT `+policyCols+`, p.wasm FROM policies p WHERE p.name = $1
		ORDER BY p.version DESC LIMIT 1`, name).
		Scan(&p.Name, &p.Kind, &p.Version, &p.Hash, &p.Size, &p.CreatedAt, &p.Groups, &wasm)
	if err != nil {
		return api.Policy{}, nil, fmt.Errorf("loading policy %s: %w", name, notFound(err))
	}
	return p, wasm, nil
}

// GroupsUsingPolicy lists the groups where policy name is active.
func (db *DB) GroupsUsingPolicy(ctx context.Context, name string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT name FROM resource_groups WHERE policy = $1 ORDER BY name`, name)
	if err != nil {
		return nil, fmt.Errorf("listing groups of policy %s: %w", name, err)
	}
	gs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing groups of policy %s: %w", name, err)
	}
	return gs, nil
}

// PolicyMeta returns the latest stored version of policy name without its
// module bytes.
func (db *DB) PolicyMeta(ctx context.Context, name string) (api.Policy, error) {
	var p api.Policy
	err := db.pool.QueryRow(ctx, `SELECT `+policyCols+` FROM policies p WHERE p.name = $1 ORDER BY p.version DESC LIMIT 1`, name).
		Scan(&p.Name, &p.Kind, &p.Version, &p.Hash, &p.Size, &p.CreatedAt, &p.Groups)
	if err != nil {
		return api.Policy{}, fmt.Errorf("looking up policy %s: %w", name, notFound(err))
	}
	return p, nil
}
