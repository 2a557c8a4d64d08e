package api

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// SessionStatus is a session's place in its lifecycle.
type SessionStatus string

// The session statuses, in lifecycle order.
const (
	StatusPending     SessionStatus = "PENDING"
	StatusScheduled   SessionStatus = "SCHEDULED"
	StatusPreparing   SessionStatus = "PREPARING"
	StatusRunning     SessionStatus = "RUNNING"
	StatusTerminating SessionStatus = "TERMINATING"
	StatusTerminated  SessionStatus = "TERMINATED"
	StatusCancelled   SessionStatus = "CANCELLED"
	StatusError       SessionStatus = "ERROR"
)

// Terminal reports whether no further transition can leave s.
func (s SessionStatus) Terminal() bool {
	return s == StatusTerminated || s == StatusCancelled || s == StatusError
}

// SessionType is what a session is for.
type SessionType string

// The session types.
const (
	TypeInteractive SessionType = "interactive"
	TypeBatch       SessionType = "batch"
	TypeInference   SessionType = "inference"
)

// Valid reports whether t is one of the known session types.
func (t SessionType) Valid() bool {
	return t == TypeInteractive || t == TypeBatch || t == TypeInference
}

// Batch session results, from the startup command's exit code.
const (
	ResultUndefined = "UNDEFINED"
	ResultSuccess   = "SUCCESS"
	ResultFailure   = "FAILURE"
)

// Resources is an amount of compute: what a session asks for, what an agent
// has or uses.
type Resources struct {
	// CPU in cores (fractions allowed, e.g. 0.5).
	CPU float64 `json:"cpu"`
	// Mem in bytes.
	Mem int64 `json:"mem"`
	// GPU in whole devices.
	GPU int `json:"gpu"`
}

// CPUMilli returns CPU in thousandths of a core.
func (r Resources) CPUMilli() int64 { return int64(r.CPU*1000 + 0.5) }

// Fits reports whether r fits inside free.
func (r Resources) Fits(free Resources) bool {
	return r.CPUMilli() <= free.CPUMilli() && r.Mem <= free.Mem && r.GPU <= free.GPU
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{CPU: float64(r.CPUMilli()+o.CPUMilli()) / 1000, Mem: r.Mem + o.Mem, GPU: r.GPU + o.GPU}
}

// Sub returns r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{CPU: float64(r.CPUMilli()-o.CPUMilli()) / 1000, Mem: r.Mem - o.Mem, GPU: r.GPU - o.GPU}
}

// DefaultResources is what a session gets when it asks for nothing.
var DefaultResources = Resources{CPU: 0.5, Mem: 256 << 20}

// Session is a compute session: one container on one agent.
type Session struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Owner      string            `json:"owner"`    // owner's email
	OwnerID    string            `json:"owner_id"` // owner's user ID
	Image      string            `json:"image"`
	Type       SessionType       `json:"type"`
	Group      string            `json:"group"`
	Status     SessionStatus     `json:"status"`
	StatusInfo string            `json:"status_info"`
	Agent      string            `json:"agent"`
	Resources  Resources         `json:"resources"`
	Env        map[string]string `json:"env,omitempty"`
	Command    []string          `json:"command,omitempty"`
	Mounts     []string          `json:"mounts,omitempty"`
	Priority   int               `json:"priority"`
	CreatedAt  time.Time         `json:"created_at"`
	StartedAt  *time.Time        `json:"started_at,omitempty"`
	EndedAt    *time.Time        `json:"ended_at,omitempty"`
	// Result is set for batch sessions: UNDEFINED until the command exits.
	Result   string `json:"result,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	// StartsAt is the reserved start time: the session stays PENDING
	// until then (batch sessions).
	StartsAt *time.Time `json:"starts_at,omitempty"`
	// DependsOn lists the IDs of the sessions that must end with SUCCESS
	// before this one may start.
	DependsOn []string `json:"depends_on,omitempty"`
	// History lists every status change with its reason, oldest first
	// (filled by `session info`, omitted from lists).
	History []StatusChange `json:"history,omitempty"`
}

// StatusChange is one recorded transition.
type StatusChange struct {
	Status SessionStatus `json:"status"`
	Info   string        `json:"info"`
	At     time.Time     `json:"at"`
}

// CreateSessionRequest is the body of POST /api/v1/sessions.
type CreateSessionRequest struct {
	Name      string            `json:"name,omitempty"`
	Image     string            `json:"image"`
	Type      SessionType       `json:"type,omitempty"`  // default interactive
	Group     string            `json:"group,omitempty"` // default "default"
	Resources *Resources        `json:"resources,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	Command   []string          `json:"command,omitempty"`
	Mounts    []string          `json:"mounts,omitempty"`
	Priority  int               `json:"priority,omitempty"`
	// StartsAt reserves a start time for a batch session: it stays PENDING
	// ("reserved to start at ...") until then.
	StartsAt *time.Time `json:"starts_at,omitempty"`
	// DependsOn names sessions (ID, 8-hex prefix or name) that must be
	// TERMINATED with result SUCCESS first; if one fails, this session is
	// CANCELLED.
	DependsOn []string `json:"depends_on,omitempty"`
}

var nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// ValidateName checks a session name: 1-40 characters of a-z, 0-9 and '-',
// not starting or ending with '-', so it can stand in a DNS label.
func ValidateName(name string) error {
	if !nameRe.MatchString(name) || strings.Contains(name, "--") {
		return fmt.Errorf("invalid session name %q: use 1-40 characters a-z, 0-9 and single '-', starting and ending with a letter or digit", name)
	}
	return nil
}

// ExecRequest is the body of POST /api/v1/sessions/{ref}/exec.
type ExecRequest struct {
	Command []string `json:"command"`
	// TimeoutSeconds bounds the command; 0 means 60.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// ExecResult is the answer to an exec.
type ExecResult struct {
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
	ExitCode int    `json:"exit_code"`
}

// Logs is the answer to GET /api/v1/sessions/{ref}/logs.
type Logs struct {
	Logs string `json:"logs"`
}
