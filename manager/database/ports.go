package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNoFreePort is returned when the edge port range is used up.
var ErrNoFreePort = errors.New("no free port in the app port range")

// AllocatePorts gives each app of a session an edge port from [lo, hi]
// (port-mapping mode), reusing the ports it already has. It returns app ->
// port.
func (db *DB) AllocatePorts(ctx context.Context, sessionID string, apps []string, lo, hi int) (map[string]int, error) {
	out := map[string]int{}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE app_ports IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		for _, app := range apps {
			var port int
			err := tx.QueryRow(ctx, `SELECT port FROM app_ports WHERE session_id::text = $1 AND app = $2`, sessionID, app).Scan(&port)
			if err == nil {
				out[app] = port
				continue
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			err = tx.QueryRow(ctx, `INSERT INTO app_ports (port, session_id, app)
				SELECT p, $1::uuid, $2 FROM generate_series($3::int, $4::int) p
				WHERE p NOT IN (SELECT port FROM app_ports) ORDER BY p LIMIT 1
				RETURNING port`, sessionID, app, lo, hi).Scan(&port)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w %d-%d", ErrNoFreePort, lo, hi)
			}
			if err != nil {
				return err
			}
			out[app] = port
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("allocating edge ports for session %s: %w", sessionID, err)
	}
	return out, nil
}

// SessionPorts returns a session's edge ports, app -> port.
func (db *DB) SessionPorts(ctx context.Context, sessionID string) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT app, port FROM app_ports WHERE session_id::text = $1`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("reading edge ports of %s: %w", sessionID, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var app string
		var port int
		if err := rows.Scan(&app, &port); err != nil {
			return nil, fmt.Errorf("reading edge ports of %s: %w", sessionID, err)
		}
		out[app] = port
	}
	return out, rows.Err()
}

// FreePorts releases a session's edge ports.
func (db *DB) FreePorts(ctx context.Context, sessionID string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM app_ports WHERE session_id::text = $1`, sessionID); err != nil {
		return fmt.Errorf("freeing edge ports of %s: %w", sessionID, err)
	}
	return nil
}
