package database

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// NewUser is an account to create, with its first keypair.
type NewUser struct {
	Email        string
	PasswordHash string
	Role         string
	AccessKey    string
	SecretKey    string
}

// CreateUser inserts a user and its first keypair. The answer carries the
// secret key. A taken email or access key gives ErrConflict.
func (db *DB) CreateUser(ctx context.Context, nu NewUser) (api.User, error) {
	u := api.User{ID: uuid.NewString(), Email: nu.Email, Role: nu.Role, AccessKey: nu.AccessKey, SecretKey: nu.SecretKey}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, $4)
			RETURNING created_at`, u.ID, nu.Email, nu.PasswordHash, nu.Role).Scan(&u.CreatedAt)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO keypairs (access_key, secret_key, user_id) VALUES ($1, $2, $3)`,
			nu.AccessKey, nu.SecretKey, u.ID)
		return err
	})
	if isUnique(err) {
		return api.User{}, fmt.Errorf("creating user %s: %w", nu.Email, ErrConflict)
	}
	if err != nil {
		return api.User{}, fmt.Errorf("creating user %s: %w", nu.Email, err)
	}
	return u, nil
}

// CountUsers returns how many accounts exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("counting users: %w", err)
	}
	return n, nil
}

const userCols = `u.id::text, u.email, u.role, u.created_at,
	coalesce((SELECT k.access_key FROM keypairs k WHERE k.user_id = u.id ORDER BY k.created_at, k.access_key LIMIT 1), '')`

func scanUser(row pgx.Row) (api.User, error) {
	var u api.User
	err := row.Scan(&u.ID, &u.Email, &u.Role, &u.CreatedAt, &u.AccessKey)
	return u, notFound(err)
}

// UserByEmail returns the user with email and its password hash.
func (db *DB) UserByEmail(ctx context.Context, email string) (api.User, string, error) {
	var u api.User
	var hash string
	err := db.pool.QueryRow(ctx, `SELECT `+userCols+`, u.password_hash FROM users u WHERE u.email = $1`, email).
		Scan(&u.ID, &u.Email, &u.Role, &u.CreatedAt, &u.AccessKey, &hash)
	if err != nil {
		return api.User{}, "", fmt.Errorf("looking up user %s: %w", email, notFound(err))
	}
	return u, hash, nil
}

// UserByID returns one user.
func (db *DB) UserByID(ctx context.Context, id string) (api.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.id::text = $1`, id))
	if err != nil {
		return api.User{}, fmt.Errorf("looking up user %s: %w", id, err)
	}
	return u, nil
}

// Users lists all accounts, oldest first.
func (db *DB) Users(ctx context.Context) ([]api.User, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.created_at, u.email`)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	return us, nil
}

// Keypair returns the user owning accessKey and the secret key.
func (db *DB) Keypair(ctx context.Context, accessKey string) (api.User, string, error) {
	var u api.User
	var secret string
	err := db.pool.QueryRow(ctx, `SELECT u.id::text, u.email, u.role, u.created_at, k.access_key, k.secret_key
		FROM keypairs k JOIN users u ON u.id = k.user_id WHERE k.access_key = $1`, accessKey).
		Scan(&u.ID, &u.Email, &u.Role, &u.CreatedAt, &u.AccessKey, &secret)
	if err != nil {
		return api.User{}, "", fmt.Errorf("looking up access key: %w", notFound(err))
	}
	return u, secret, nil
}

// SecretKey returns the secret of accessKey.
func (db *DB) SecretKey(ctx context.Context, accessKey string) (string, error) {
	_, s, err := db.Keypair(ctx, accessKey)
	return s, err
}

// CreateLogin stores a login session by its token hash.
func (db *DB) CreateLogin(ctx context.Context, tokenHash, userID string, expires time.Time) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO login_sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
		tokenHash, userID, expires)
	if err != nil {
		return fmt.Errorf("storing login session: %w", err)
	}
	// Opportunistic clean-up of expired logins.
	_, _ = db.pool.Exec(ctx, `DELETE FROM login_sessions WHERE expires_at < $1`, time.Now())
	return nil
}

// UserByLogin returns the user of an unexpired login session.
func (db *DB) UserByLogin(ctx context.Context, tokenHash string, now time.Time) (api.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userCols+` FROM login_sessions l JOIN users u ON u.id = l.user_id
		WHERE l.token_hash = $1 AND l.expires_at > $2`, tokenHash, now))
	if err != nil {
		return api.User{}, fmt.Errorf("looking up login session: %w", err)
	}
	return u, nil
}

// DeleteLogin ends a login session.
func (db *DB) DeleteLogin(ctx context.Context, tokenHash string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM login_sessions WHERE token_hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("deleting login session: %w", err)
	}
	return nil
}
