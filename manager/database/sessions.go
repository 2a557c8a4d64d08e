package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Record is a session with the fields the manager keeps for itself.
type Record struct {
	api.Session
	ContainerID string
	// Apps are the image's declared service ports, from session.started.
	Apps []api.ServicePort
	// Ports maps app name -> host port on the agent.
	Ports    map[string]int
	LogsTail string
}

// NewSession is a session to enqueue.
type NewSession struct {
	Name      string
	OwnerID   string
	Image     string
	Type      api.SessionType
	Group     string
	Resources api.Resources
	Env       map[string]string
	Command   []string
	Mounts    []string
	Priority  int
	// StartsAt is the reserved start time (nil: none).
	StartsAt *time.Time
	// DependsOn are the IDs of the sessions it waits for.
	DependsOn []string
}

// ErrUnknownGroup is returned by CreateSession for a group that does not
// exist.
var ErrUnknownGroup = errors.New("unknown resource group")

// Errors of CreateSession when the owner's resource policy refuses a
// session; the wrapping error's text names the limit.
var (
	// ErrPendingLimit: the owner has max_pending_sessions PENDING already.
	ErrPendingLimit = errors.New("too many pending sessions")
	// ErrOverPolicy: the request alone exceeds the owner's total resource
	// slots, so it could never start.
	ErrOverPolicy = errors.New("request exceeds the resource policy")
)

// CreateSession inserts a PENDING session ("enqueued") with its first
// history row. A live session of the same name and owner gives
// ErrConflict; an unknown group ErrUnknownGroup; the owner's resource
// policy ErrPendingLimit or ErrOverPolicy.
func (db *DB) CreateSession(ctx context.Context, ns NewSession) (Record, error) {
	id := uuid.NewString()
	env, _ := json.Marshal(orEmptyMap(ns.Env))
	cmd, _ := json.Marshal(orEmpty(ns.Command))
	mounts, _ := json.Marshal(orEmpty(ns.Mounts))
	result := ""
	if ns.Type == api.TypeBatch {
		result = api.ResultUndefined
	}
	var rec Record
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM resource_groups WHERE name = $1)`, ns.Group).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w %q", ErrUnknownGroup, ns.Group)
		}
		if err := checkPolicyTx(ctx, tx, ns); err != nil {
			return err
		}
		deps := orEmpty(ns.DependsOn)
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, name, owner_id, image, type, group_name, status, status_info,
			cpu_milli, mem, gpu, env, command, mounts, priority, result, starts_at, depends_on)
			VALUES ($1, $2, $3, $4, $5, $6, 'PENDING', 'enqueued', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::text[]::uuid[])`,
			id, ns.Name, ns.OwnerID, ns.Image, string(ns.Type), ns.Group,
			ns.Resources.CPUMilli(), ns.Resources.Mem, ns.Resources.GPU, env, cmd, mounts, ns.Priority, result, ns.StartsAt, deps)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO session_history (session_id, status, info) VALUES ($1, 'PENDING', 'enqueued')`, id); err != nil {
			return err
		}
		rec, err = loadTx(ctx, tx, id)
		return err
	})
	if isUnique(err) {
		return Record{}, fmt.Errorf("session name %q is already taken: %w", ns.Name, ErrConflict)
	}
	if err != nil {
		return Record{}, fmt.Errorf("creating session: %w", err)
	}
	db.notify(rec.Session)
	return rec, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

const sessionCols = `s.id::text, s.name, u.email, s.owner_id::text, s.image, s.type, s.group_name, s.status,
	s.status_info, s.agent_id, s.cpu_milli, s.mem, s.gpu, s.env, s.command, s.mounts, s.priority,
	s.created_at, s.started_at, s.ended_at, s.result, s.exit_code, s.container_id, s.apps, s.ports, s.logs_tail,
	s.starts_at, s.depends_on::text[]`

const sessionFrom = ` FROM sessions s JOIN users u ON u.id = s.owner_id `

func scanSession(row pgx.Row) (Record, error) {
	var r Record
	var cpu int64
	var env, cmd, mounts, apps, ports []byte
	err := row.Scan(&r.ID, &r.Name, &r.Owner, &r.OwnerID, &r.Image, &r.Type, &r.Group, &r.Status,
		&r.StatusInfo, &r.Agent, &cpu, &r.Resources.Mem, &r.Resources.GPU, &env, &cmd, &mounts, &r.Priority,
		&r.CreatedAt, &r.StartedAt, &r.EndedAt, &r.Result, &r.ExitCode, &r.ContainerID, &apps, &ports, &r.LogsTail,
		&r.StartsAt, &r.DependsOn)
	if err != nil {
		return Record{}, notFound(err)
	}
	r.Resources.CPU = float64(cpu) / 1000
	for _, j := range []struct {
		b []byte
		v any
	}{{env, &r.Env}, {cmd, &r.Command}, {mounts, &r.Mounts}, {apps, &r.Apps}, {ports, &r.Ports}} {
		if err := json.Unmarshal(j.b, j.v); err != nil {
			return Record{}, fmt.Errorf("decoding session %s: %w", r.ID, err)
		}
	}
	if len(r.Env) == 0 {
		r.Env = nil
	}
	if len(r.DependsOn) == 0 {
		r.DependsOn = nil
	}
	return r, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func loadTx(ctx context.Context, q querier, id string) (Record, error) {
	return scanSession(q.QueryRow(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.id::text = $1`, id))
}

// Session returns one session by full ID.
func (db *DB) Session(ctx context.Context, id string) (Record, error) {
	r, err := loadTx(ctx, db.pool, id)
	if err != nil {
		return Record{}, fmt.Errorf("looking up session %s: %w", id, err)
	}
	return r, nil
}

// History returns a session's status changes, oldest first.
func (db *DB) History(ctx context.Context, id string) ([]api.StatusChange, error) {
	rows, err := db.pool.Query(ctx, `SELECT status, info, at FROM session_history WHERE session_id::text = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", id, err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.StatusChange, error) {
		var c api.StatusChange
		err := r.Scan(&c.Status, &c.Info, &c.At)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("reading history of %s: %w", id, err)
	}
	return hs, nil
}

var (
	uuidRe    = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	shortIDRe = regexp.MustCompile(`^[0-9a-f]{8}$`)
)

// ResolveSession finds the session a user means by ref: a session ID, an
// 8-hex ID prefix, or a name (the user's live session of that name first,
// else their most recent one). anyOwner lets admins reach others' sessions
// by ID or prefix.
func (db *DB) ResolveSession(ctx context.Context, ref, userID string, anyOwner bool) (Record, error) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	const owner = ` AND (s.owner_id::text = $2 OR $3::boolean)`
	var r Record
	err := ErrNotFound
	switch {
	case uuidRe.MatchString(ref):
		r, err = scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.id::text = $1`+owner, ref, userID, anyOwner))
	case shortIDRe.MatchString(ref):
		r, err = scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.id::text LIKE $1 || '%'`+owner+`
			ORDER BY s.created_at DESC LIMIT 1`, ref, userID, anyOwner))
	}
	if errors.Is(err, ErrNotFound) {
		r, err = scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.name = $1 AND s.owner_id::text = $2
			ORDER BY (s.status NOT IN ('TERMINATED', 'CANCELLED', 'ERROR')) DESC, s.created_at DESC LIMIT 1`, ref, userID))
	}
	if err != nil {
		return Record{}, fmt.Errorf("session %q: %w", ref, err)
	}
	return r, nil
}

// Sessions lists sessions, newest first: ownerID's (all users' if empty),
// live ones only unless includeEnded.
func (db *DB) Sessions(ctx context.Context, ownerID string, includeEnded bool) ([]api.Session, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+sessionCols+sessionFrom+`
		WHERE ($1 = '' OR s.owner_id::text = $1) AND ($2 OR s.status NOT IN ('TERMINATED', 'CANCELLED', 'ERROR'))
		ORDER BY s.created_at DESC`, ownerID, includeEnded)
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (api.Session, error) {
		rec, err := scanSession(r)
		return rec.Session, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	return rs, nil
}

// SessionsByStatus lists sessions in any of the given statuses, oldest
// first.
func (db *DB) SessionsByStatus(ctx context.Context, statuses ...api.SessionStatus) ([]Record, error) {
	ss := make([]string, len(statuses))
	for i, s := range statuses {
		ss[i] = string(s)
	}
	rows, err := db.pool.Query(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.status = ANY($1) ORDER BY s.created_at`, ss)
	if err != nil {
		return nil, fmt.Errorf("listing sessions by status: %w", err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Record, error) { return scanSession(r) })
	if err != nil {
		return nil, fmt.Errorf("listing sessions by status: %w", err)
	}
	return rs, nil
}

// StalledSessions lists sessions in any of the given statuses whose last
// status change is older than before (e.g. TERMINATING for a minute: the
// destroy command may have been lost).
func (db *DB) StalledSessions(ctx context.Context, before time.Time, statuses ...api.SessionStatus) ([]Record, error) {
	ss := make([]string, len(statuses))
	for i, s := range statuses {
		ss[i] = string(s)
	}
	rows, err := db.pool.Query(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.status = ANY($1)
		AND (SELECT max(h.at) FROM session_history h WHERE h.session_id = s.id) < $2 ORDER BY s.created_at`, ss, before)
	if err != nil {
		return nil, fmt.Errorf("listing stalled sessions: %w", err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Record, error) { return scanSession(r) })
	if err != nil {
		return nil, fmt.Errorf("listing stalled sessions: %w", err)
	}
	return rs, nil
}

// Update lists the fields a status change (or a plain update) sets besides
// the status and its reason. Nil fields are kept.
type Update struct {
	ContainerID *string
	Apps        []api.ServicePort
	Ports       map[string]int
	Result      *string
	ExitCode    *int
	LogsTail    *string
	// Release frees the session's hold on its agent's usage (at most once
	// over the session's life, however often it is asked).
	Release bool
}

// Transition changes session id to status to with reason info, checking
// the change against the lifecycle (ErrBadTransition), recording history
// and notifying listeners. It is the one way a session's status changes.
func (db *DB) Transition(ctx context.Context, id string, to api.SessionStatus, info string, u Update) (Record, error) {
	var rec Record
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		rec, err = transitionTx(ctx, tx, id, to, info, u)
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("changing session %s to %s: %w", id, to, err)
	}
	db.notify(rec.Session)
	return rec, nil
}

// transitionTx is Transition inside tx, without the notification (the
// caller notifies after the commit).
func transitionTx(ctx context.Context, tx pgx.Tx, id string, to api.SessionStatus, info string, u Update) (Record, error) {
	var from api.SessionStatus
	if err := tx.QueryRow(ctx, `SELECT status FROM sessions WHERE id::text = $1 FOR UPDATE`, id).Scan(&from); err != nil {
		return Record{}, notFound(err)
	}
	if err := CheckTransition(from, to); err != nil {
		return Record{}, err
	}
	if err := applyTx(ctx, tx, id, u); err != nil {
		return Record{}, err
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET status = $2, status_info = $3,
		started_at = CASE WHEN $2 = 'RUNNING' THEN coalesce(started_at, now()) ELSE started_at END,
		ended_at = CASE WHEN $2 IN ('TERMINATED', 'CANCELLED', 'ERROR') THEN coalesce(ended_at, now()) ELSE ended_at END
		WHERE id::text = $1`, id, string(to), info)
	if err != nil {
		return Record{}, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO session_history (session_id, status, info) VALUES ($1::uuid, $2, $3)`, id, string(to), info); err != nil {
		return Record{}, err
	}
	return loadTx(ctx, tx, id)
}

// applyTx writes u's fields (and releases usage if asked).
func applyTx(ctx context.Context, tx pgx.Tx, id string, u Update) error {
	if u.Release {
		if err := releaseTx(ctx, tx, id); err != nil {
			return err
		}
	}
	sets := []string{}
	args := []any{id}
	add := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
	}
	if u.ContainerID != nil {
		add("container_id", *u.ContainerID)
	}
	if u.Apps != nil {
		b, _ := json.Marshal(u.Apps)
		add("apps", b)
	}
	if u.Ports != nil {
		b, _ := json.Marshal(u.Ports)
		add("ports", b)
	}
	if u.Result != nil {
		add("result", *u.Result)
	}
	if u.ExitCode != nil {
		add("exit_code", *u.ExitCode)
	}
	if u.LogsTail != nil {
		add("logs_tail", *u.LogsTail)
	}
	if len(sets) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET `+strings.Join(sets, ", ")+` WHERE id::text = $1`, args...)
	return err
}

// releaseTx frees a session's usage on its agent if it still holds it.
func releaseTx(ctx context.Context, tx pgx.Tx, id string) error {
	var agent string
	var cpu, mem int64
	var gpu int
	err := tx.QueryRow(ctx, `UPDATE sessions SET holds_usage = false WHERE id::text = $1 AND holds_usage
		RETURNING agent_id, cpu_milli, mem, gpu`, id).Scan(&agent, &cpu, &mem, &gpu)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // already released, or never held
	}
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE agents SET used_cpu_milli = greatest(used_cpu_milli - $2, 0),
		used_mem = greatest(used_mem - $3, 0), used_gpu = greatest(used_gpu - $4, 0) WHERE id = $1`, agent, cpu, mem, gpu)
	return err
}

// UpdateSession writes u's fields and, if info is not empty and differs,
// the status reason, without changing the status (no history row).
func (db *DB) UpdateSession(ctx context.Context, id, info string, u Update) (Record, error) {
	var rec Record
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var cur string
		if err := tx.QueryRow(ctx, `SELECT status_info FROM sessions WHERE id::text = $1 FOR UPDATE`, id).Scan(&cur); err != nil {
			return notFound(err)
		}
		if err := applyTx(ctx, tx, id, u); err != nil {
			return err
		}
		if info != "" && info != cur {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET status_info = $2 WHERE id::text = $1`, id, info); err != nil {
				return err
			}
		}
		var err error
		rec, err = loadTx(ctx, tx, id)
		return err
	})
	if err != nil {
		return Record{}, fmt.Errorf("updating session %s: %w", id, err)
	}
	db.notify(rec.Session)
	return rec, nil
}

// userUsage returns each owner's resources held by placed sessions.
func userUsage(ctx context.Context, q querier) (map[string]api.Resources, error) {
	rows, err := q.Query(ctx, `SELECT owner_id::text, sum(cpu_milli), sum(mem), sum(gpu) FROM sessions
		WHERE holds_usage GROUP BY owner_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]api.Resources{}
	for rows.Next() {
		var owner string
		var cpu, mem, gpu int64
		if err := rows.Scan(&owner, &cpu, &mem, &gpu); err != nil {
			return nil, err
		}
		out[owner] = api.Resources{CPU: float64(cpu) / 1000, Mem: mem, GPU: int(gpu)}
	}
	return out, rows.Err()
}

// SessionByLabel finds the session an app host label points at: its name
// and 8-hex ID prefix (a live session first).
func (db *DB) SessionByLabel(ctx context.Context, name, shortID string) (Record, error) {
	if !shortIDRe.MatchString(shortID) {
		return Record{}, fmt.Errorf("session %s-%s: %w", name, shortID, ErrNotFound)
	}
	r, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+sessionFrom+`WHERE s.name = $1 AND s.id::text LIKE $2 || '%'
		ORDER BY (s.status NOT IN ('TERMINATED', 'CANCELLED', 'ERROR')) DESC, s.created_at DESC LIMIT 1`, name, shortID))
	if err != nil {
		return Record{}, fmt.Errorf("session %s-%s: %w", name, shortID, err)
	}
	return r, nil
}
