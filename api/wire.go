package api

import "time"

// Valkey key names. Every stream entry carries one field, "data", holding
// the JSON of a Command or an Event.
const (
	// EventStream carries Events from agents to the manager (consumer group
	// "manager").
	EventStream = "berth:events"
	// CommandStreamPrefix + agent ID carries Commands from the manager to one
	// agent (consumer group "agent"), so a command survives an agent restart.
	CommandStreamPrefix = "berth:agent:cmd:"
	// ReplyKeyPrefix + Command.ID is a list the agent LPUSHes one Reply onto.
	ReplyKeyPrefix = "berth:reply:"
	// RoutesHash maps host label -> Route JSON for the edge's app proxy.
	RoutesHash = "berth:routes"
	// RoutesChannel is a pub/sub channel; each message is a host label whose
	// route changed (look it up in RoutesHash; absent means removed).
	RoutesChannel = "berth:routes:changed"
	// NoncePrefix + token nonce marks a one-time app token as used.
	NoncePrefix = "berth:nonce:"
	// AgentAlivePrefix + agent ID is set with a TTL by each heartbeat.
	AgentAlivePrefix = "berth:agent:alive:"
	// ManagerGroup and AgentGroup are the consumer group names.
	ManagerGroup = "manager"
	AgentGroup   = "agent"
	// StreamField is the one field of every stream entry.
	StreamField = "data"
)

// Container labels the agent sets, so a restarted agent can re-adopt them.
const (
	LabelSession     = "berth.session"
	LabelSessionName = "berth.session-name"
	LabelAgent       = "berth.agent"
	LabelSessionType = "berth.session-type"
	LabelPortMap     = "berth.port-map" // app:hostport,...
	ContainerPrefix  = "berth-"         // + session ID
)

// CommandKind names what a Command asks of an agent.
type CommandKind string

// Command kinds.
const (
	CmdCreate  CommandKind = "create"  // create and start the session's container
	CmdDestroy CommandKind = "destroy" // stop and remove it
	CmdExec    CommandKind = "exec"    // run a command in it; Reply with ExecResult
	CmdLogs    CommandKind = "logs"    // read its output; Reply with Logs
)

// Command is a message from the manager to one agent.
type Command struct {
	ID        string         `json:"id"`
	Kind      CommandKind    `json:"kind"`
	SessionID string         `json:"session_id"`
	Spec      *ContainerSpec `json:"spec,omitempty"`
	Exec      *ExecRequest   `json:"exec,omitempty"`
	IssuedAt  time.Time      `json:"issued_at"`
}

// ContainerSpec is what an agent needs to start a session.
type ContainerSpec struct {
	SessionID string            `json:"session_id"`
	Name      string            `json:"name"`
	Type      SessionType       `json:"type"`
	Image     string            `json:"image"`
	Resources Resources         `json:"resources"`
	Env       map[string]string `json:"env,omitempty"`
	Command   []string          `json:"command,omitempty"`
}

// Reply answers an exec or logs Command.
type Reply struct {
	Error string      `json:"error,omitempty"`
	Exec  *ExecResult `json:"exec,omitempty"`
	Logs  *Logs       `json:"logs,omitempty"`
}

// EventKind names an Event.
type EventKind string

// Event kinds.
const (
	EvHeartbeat EventKind = "agent.heartbeat"
	// EvPreparing: the agent took a create command (e.g. checking the image).
	EvPreparing EventKind = "session.preparing"
	// EvStarted: the container runs; Ports and Apps are set.
	EvStarted EventKind = "session.started"
	// EvAdopted: a restarted agent found the container still running.
	EvAdopted EventKind = "session.adopted"
	// EvExited: the container's main process exited with ExitCode; Logs
	// holds the tail of its output.
	EvExited EventKind = "session.exited"
	// EvRemoved: the container is gone (after a destroy command).
	EvRemoved EventKind = "session.removed"
	// EvFailed: the session could not be started; Message says why
	// (e.g. "image localhost/nope not found").
	EvFailed EventKind = "session.failed"
)

// Event is a message from an agent to the manager.
type Event struct {
	Kind        EventKind `json:"kind"`
	AgentID     string    `json:"agent_id"`
	SessionID   string    `json:"session_id,omitempty"`
	ContainerID string    `json:"container_id,omitempty"`
	ExitCode    *int      `json:"exit_code,omitempty"`
	// Apps are the image's declared service ports.
	Apps []ServicePort `json:"apps,omitempty"`
	// Ports maps app name -> host port published on the agent's Address.
	Ports   map[string]int `json:"ports,omitempty"`
	Message string         `json:"message,omitempty"`
	Logs    string         `json:"logs,omitempty"`
	// Agent is set on heartbeats.
	Agent *Agent    `json:"agent,omitempty"`
	At    time.Time `json:"at"`
}

// Route tells the edge where an app lives and who may open it.
type Route struct {
	HostLabel   string      `json:"host_label"`
	SessionID   string      `json:"session_id"`
	SessionName string      `json:"session_name"`
	SessionType SessionType `json:"session_type"`
	OwnerID     string      `json:"owner_id"`
	App         string      `json:"app"`
	Protocol    string      `json:"protocol"`
	// Upstream is host:port of the published container port.
	Upstream string `json:"upstream"`
	// Public apps need no login (inference sessions by default).
	Public bool `json:"public"`
	// EdgePort is the port-mapping mode port, 0 if none.
	EdgePort int `json:"edge_port,omitempty"`
}
