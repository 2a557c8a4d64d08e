// Package database is the manager's PostgreSQL layer: the connection pool,
// the embedded schema migrations, and every query the manager runs. It is
// the source of truth for users, sessions, agents, groups and policies.
//
// Every session status change goes through one function (transition), which
// checks the change against the lifecycle table in transitions.go, writes
// the new status and reason, adds a history row and, after the commit,
// reports the changed session to the OnChange hook.
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/berth-dev/berth/api"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors callers map to HTTP statuses.
var (
	// ErrNotFound: no such object.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique name or key is already taken.
	ErrConflict = errors.New("already exists")
)

// DB is the manager's database.
type DB struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	// onChange, if set, is called after the commit of every session change.
	onChange func(api.Session)
}

// Open connects to the PostgreSQL server at url and pings it.
func Open(ctx context.Context, log *slog.Logger, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pinging database: %w", err)
	}
	return &DB{pool: pool, log: log}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.pool.Close() }

// Ping checks the connection.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// OnChange sets the hook called with each session after a change to it is
// committed (for the event stream). Call it before serving.
func (db *DB) OnChange(f func(api.Session)) { db.onChange = f }

func (db *DB) notify(ss ...api.Session) {
	if db.onChange == nil {
		return
	}
	for _, s := range ss {
		db.onChange(s)
	}
}

// isUnique reports whether err is a unique-constraint violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// notFound maps pgx.ErrNoRows to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
