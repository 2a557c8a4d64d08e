package database

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/berth-dev/berth/api"
	"github.com/jackc/pgx/v5"
)

// DefaultResourcePolicy is the resource policy every user starts with
// (unlimited unless an admin sets limits on it).
const DefaultResourcePolicy = "default"

const resourcePolicyCols = `rp.name, rp.max_cpu_milli, rp.max_mem, rp.max_gpu, rp.max_concurrent_sessions, rp.max_pending_sessions`

// resourcePolicyRow scans resourcePolicyCols (plus extra destinations).
func scanResourcePolicy(row pgx.Row, extra ...any) (api.ResourcePolicy, error) {
	var p api.ResourcePolicy
	var cpu *int64
	dest := append([]any{&p.Name, &cpu, &p.MaxMem, &p.MaxGPU, &p.MaxConcurrentSessions, &p.MaxPendingSessions}, extra...)
	if err := row.Scan(dest...); err != nil {
		return api.ResourcePolicy{}, notFound(err)
	}
	if cpu != nil {
		c := float64(*cpu) / 1000
		p.MaxCPU = &c
	}
	return p, nil
}

// UserResourcePolicy returns the resource policy of the user with email.
func (db *DB) UserResourcePolicy(ctx context.Context, email string) (api.ResourcePolicy, error) {
	p, err := scanResourcePolicy(db.pool.QueryRow(ctx, `SELECT `+resourcePolicyCols+`
		FROM users u JOIN resource_policies rp ON rp.name = u.resource_policy WHERE u.email = $1`, email))
	if err != nil {
		return api.ResourcePolicy{}, fmt.Errorf("looking up resource policy of %s: %w", email, err)
	}
	return p, nil
}

// SetUserResourcePolicy stores p's limits under p.Name (creating or
// replacing that resource policy, which other users may share) and makes
// it the policy of the user with email. An empty name means the user's
// own policy, "user:<email>".
func (db *DB) SetUserResourcePolicy(ctx context.Context, email string, p api.ResourcePolicy) (api.ResourcePolicy, error) {
	if p.Name == "" {
		p.Name = "user:" + email
	}
	var cpu *int64
	if p.MaxCPU != nil {
		c := (api.Resources{CPU: *p.MaxCPU}).CPUMilli()
		cpu = &c
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO resource_policies (name, max_cpu_milli, max_mem, max_gpu, max_concurrent_sessions, max_pending_sessions)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET max_cpu_milli = $2, max_mem = $3, max_gpu = $4,
			max_concurrent_sessions = $5, max_pending_sessions = $6`,
			p.Name, cpu, p.MaxMem, p.MaxGPU, p.MaxConcurrentSessions, p.MaxPendingSessions)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users SET resource_policy = $2 WHERE email = $1`, email, p.Name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("user %s: %w", email, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return api.ResourcePolicy{}, fmt.Errorf("setting resource policy of %s: %w", email, err)
	}
	return db.UserResourcePolicy(ctx, email)
}

// checkPolicyTx enforces the owner's resource policy at enqueue: at most
// max_pending_sessions PENDING sessions, and no request that alone exceeds
// the total resource slots. It locks the user row so that concurrent
// creates are counted one after the other.
func checkPolicyTx(ctx context.Context, tx pgx.Tx, ns NewSession) error {
	var email string
	var pending int
	p, err := scanResourcePolicy(tx.QueryRow(ctx, `SELECT `+resourcePolicyCols+`, u.email,
		(SELECT count(*) FROM sessions s WHERE s.owner_id = u.id AND s.status = 'PENDING')
		FROM users u JOIN resource_policies rp ON rp.name = u.resource_policy WHERE u.id = $1 FOR UPDATE OF u`, ns.OwnerID),
		&email, &pending)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("owner %s: %w", ns.OwnerID, ErrNotFound)
	}
	if err != nil {
		return err
	}
	over := func(what, asked, most string) error {
		return fmt.Errorf("the session asks %s %s but resource policy %s of user %s allows at most %s in total: %w",
			asked, what, p.Name, email, most, ErrOverPolicy)
	}
	r := ns.Resources
	switch {
	case p.MaxCPU != nil && r.CPUMilli() > (api.Resources{CPU: *p.MaxCPU}).CPUMilli():
		return over("CPU", strconv.FormatFloat(r.CPU, 'f', -1, 64), strconv.FormatFloat(*p.MaxCPU, 'f', -1, 64))
	case p.MaxMem != nil && r.Mem > *p.MaxMem:
		return over("bytes of memory", strconv.FormatInt(r.Mem, 10), strconv.FormatInt(*p.MaxMem, 10))
	case p.MaxGPU != nil && r.GPU > *p.MaxGPU:
		return over("GPUs", strconv.Itoa(r.GPU), strconv.Itoa(*p.MaxGPU))
	}
	if m := p.MaxPendingSessions; m != nil && pending >= *m {
		return fmt.Errorf("max pending sessions %d reached for user %s (resource policy %s): wait for some to start or cancel them: %w",
			*m, email, p.Name, ErrPendingLimit)
	}
	return nil
}
