package api

import "time"

// Agent is a worker node as the manager sees it.
type Agent struct {
	ID string `json:"id"`
	// Address is the host the agent's published container ports listen on,
	// as the edge must dial them (127.0.0.1 on one machine).
	Address  string    `json:"address"`
	Group    string    `json:"group"`
	Status   string    `json:"status"` // ALIVE or LOST
	Capacity Resources `json:"capacity"`
	Used     Resources `json:"used"`
	Sessions int       `json:"sessions"`
	GPUs     []GPU     `json:"gpus"`
	// GPUInfo says how GPUs were detected, e.g. "NVML not found: 0 GPUs".
	GPUInfo   string    `json:"gpu_info"`
	NUMANodes int       `json:"numa_nodes"`
	Version   string    `json:"version"`
	LastSeen  time.Time `json:"last_seen"`
}

// Agent statuses.
const (
	AgentAlive = "ALIVE"
	AgentLost  = "LOST"
)

// GPU is one accelerator on an agent.
type GPU struct {
	Index    int    `json:"index"`
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	MemBytes int64  `json:"mem_bytes"`
	NUMANode int    `json:"numa_node"`
}

// User is an account.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"` // user or admin
	CreatedAt time.Time `json:"created_at"`
	// AccessKey is the user's first keypair's access key.
	AccessKey string `json:"access_key,omitempty"`
	// SecretKey is returned only when the keypair is created or on login.
	SecretKey string `json:"secret_key,omitempty"`
}

// User roles.
const (
	RoleUser  = "user"
	RoleAdmin = "admin"
)

// CreateUserRequest is the body of POST /api/v1/users.
type CreateUserRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role,omitempty"`
}

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// LoginResponse answers a login: the user with a keypair (for the CLI) and,
// as a cookie, the browser login session.
type LoginResponse struct {
	User User `json:"user"`
}

// Group is a resource group: a set of agents with one scheduling policy.
type Group struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Policy      string `json:"policy"` // active scheduler policy name
	// FallbackPolicy is the last good policy, used when Policy misbehaves.
	FallbackPolicy string    `json:"fallback_policy,omitempty"`
	PolicyNote     string    `json:"policy_note,omitempty"`
	Agents         int       `json:"agents"`
	CreatedAt      time.Time `json:"created_at"`
}

// CreateGroupRequest is the body of POST /api/v1/groups.
type CreateGroupRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Policy is a stored Wasm policy.
type Policy struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"` // scheduler or auth
	Version   int       `json:"version"`
	Hash      string    `json:"hash"` // sha256 of the module, hex
	Size      int       `json:"size"`
	Builtin   bool      `json:"builtin"`
	Groups    []string  `json:"groups,omitempty"` // groups where it is active
	Note      string    `json:"note,omitempty"`   // e.g. "fell back: deadline exceeded"
	CreatedAt time.Time `json:"created_at"`
}

// Policy kinds.
const (
	PolicyScheduler = "scheduler"
	PolicyAuth      = "auth"
)

// ResourcePolicy limits what one user's sessions may use; a nil limit is
// unlimited. Every user has one (the row "default" unless an admin set
// another).
type ResourcePolicy struct {
	Name string `json:"name"`
	// MaxCPU (cores), MaxMem (bytes) and MaxGPU bound the sum of the
	// requests of the user's placed, not yet ended sessions (the total
	// resource slots).
	MaxCPU *float64 `json:"max_cpu,omitempty"`
	MaxMem *int64   `json:"max_mem,omitempty"`
	MaxGPU *int     `json:"max_gpu,omitempty"`
	// MaxConcurrentSessions bounds the user's placed, not yet ended
	// sessions; more stay PENDING.
	MaxConcurrentSessions *int `json:"max_concurrent_sessions,omitempty"`
	// MaxPendingSessions bounds the user's PENDING sessions; creating one
	// more is refused with 429.
	MaxPendingSessions *int `json:"max_pending_sessions,omitempty"`
}

// PolicyEvent is sent on GET /api/v1/events as "event: policy" when a
// resource group's scheduling policy fails and the group falls back to
// another one, or when it works again.
type PolicyEvent struct {
	Group  string `json:"group"`
	Policy string `json:"policy"` // the group's active policy
	// Fallback is the policy that ran instead (empty when it recovered).
	Fallback string    `json:"fallback,omitempty"`
	Error    string    `json:"error,omitempty"`
	Note     string    `json:"note"` // as shown in `policy ls` and `group ls`
	At       time.Time `json:"at"`
}

// Problem is an RFC 9457 problem+json error body.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status     string            `json:"status"` // ok or degraded
	Components map[string]string `json:"components"`
}
