// Package agent is `berth agent`, the daemon on each worker node: it
// heartbeats the node's capacity, runs the manager's commands (create,
// destroy, exec, logs) against Podman, reports container events, and on
// start re-adopts the containers a previous run left behind.
//
// Everything crosses Valkey (see package api for the key names): commands
// arrive on the stream api.CommandStreamPrefix+ID, events go to
// api.EventStream, exec and logs answers to api.ReplyKeyPrefix+command ID.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/berth-dev/berth/agent/resources"
	"github.com/berth-dev/berth/agent/runtime"
	"github.com/berth-dev/berth/agent/runtime/podman"
	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/bus"
)

// Config configures an agent.
type Config struct {
	// ID names the agent (default: the host name, set by the caller).
	ID string
	// Group is the resource group the agent belongs to ("default").
	Group string
	// Address is the host the edge dials to reach published container
	// ports (127.0.0.1 on one machine). When it is an IP address, ports are
	// published on it; otherwise on 127.0.0.1.
	Address string
	// ValkeyAddr is host:port of Valkey.
	ValkeyAddr string
	// PodmanSocket is the Podman service URL, e.g. unix:///run/podman/podman.sock.
	PodmanSocket string
	// Capacity overrides the discovered capacity in each non-zero field.
	// A GPU override also sets how many GPU indices (nvidia.com/gpu=<i>)
	// the agent hands out.
	Capacity api.Resources
	// HeartbeatEvery is the heartbeat period (default 5 s). The alive key
	// lives three periods, at least 15 s.
	HeartbeatEvery time.Duration
	// WatchEvery is how often running containers are checked for exits
	// (default 1 s).
	WatchEvery time.Duration
	// Version is reported in heartbeats (default "dev").
	Version string
}

func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = "default"
	}
	if c.Address == "" {
		c.Address = "127.0.0.1"
	}
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = 5 * time.Second
	}
	if c.WatchEvery <= 0 {
		c.WatchEvery = time.Second
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.ID == "":
		return errors.New("agent ID is empty")
	case c.ValkeyAddr == "":
		return errors.New("valkey address is empty")
	case c.PodmanSocket == "":
		return errors.New("podman socket is empty")
	}
	return nil
}

// Timeouts and sizes.
const (
	stopTimeout    = 2 * time.Second
	execTimeout    = 60 * time.Second
	exitLogBytes   = 16 << 10
	replyLogBytes  = 1 << 20
	runtimeTimeout = 2 * time.Minute
)

// agent is one running agent.
type agent struct {
	log       *slog.Logger
	cfg       Config
	bus       *bus.Bus
	rt        runtime.Runtime
	capacity  resources.Capacity
	publishIP string
	gpuCount  int

	mu       sync.Mutex
	sessions map[string]*session // by session ID
	ports    map[int]string      // host port -> session ID
	gpus     map[int]string      // GPU index -> session ID
	jobs     sync.WaitGroup      // exec and logs commands in flight
}

// Session states, as the agent tracks them.
const (
	stStarting = "starting" // being created; the watcher leaves it alone
	stCreated  = "created"  // created, not started (an interrupted create)
	stRunning  = "running"  // watched for exit
	stExited   = "exited"   // exit reported
	stRemoving = "removing" // being destroyed
)

// session is a container the agent manages.
type session struct {
	containerID string
	state       string
	// since is when state became stRunning; the watcher ignores container
	// lists older than that.
	since time.Time
}

// Run runs the agent until ctx ends. It fails early if Valkey or Podman
// cannot be reached; once running it logs and retries instead.
// Containers keep running when it returns, to be re-adopted by the next run.
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("configuring agent: %w", err)
	}
	log = log.With("agent", cfg.ID)
	b, err := bus.Dial(ctx, cfg.ValkeyAddr)
	if err != nil {
		return err
	}
	defer b.Close()
	rt, err := podman.New(ctx, cfg.PodmanSocket)
	if err != nil {
		return err
	}
	a := &agent{
		log:      log,
		cfg:      cfg,
		bus:      b,
		rt:       rt,
		capacity: resources.Discover(log),
		sessions: map[string]*session{},
		ports:    map[int]string{},
		gpus:     map[int]string{},
	}
	a.publishIP = "127.0.0.1"
	if ip := net.ParseIP(cfg.Address); ip != nil {
		a.publishIP = ip.String()
	}
	a.gpuCount = len(a.capacity.GPUs)
	if cfg.Capacity.CPU > 0 {
		a.capacity.CPU = cfg.Capacity.CPU
	}
	if cfg.Capacity.Mem > 0 {
		a.capacity.Mem = cfg.Capacity.Mem
	}
	if cfg.Capacity.GPU > 0 {
		a.gpuCount = cfg.Capacity.GPU
	}
	log.Info("agent starting", "group", cfg.Group, "address", cfg.Address, "cpu", a.capacity.CPU,
		"mem", a.capacity.Mem, "gpus", a.gpuCount, "gpu_info", a.capacity.GPUInfo, "numa_nodes", a.capacity.NUMANodes)

	if err := a.heartbeat(ctx); err != nil {
		log.Warn("sending first heartbeat", "err", err)
	}
	if err := a.adopt(ctx); err != nil {
		return fmt.Errorf("re-adopting containers: %w", err)
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.heartbeatLoop(ctx) }()
	go func() { defer wg.Done(); a.watchLoop(ctx) }()
	err = b.Consume(ctx, log, api.CommandStreamPrefix+cfg.ID, api.AgentGroup, cfg.ID, a.handle)
	wg.Wait()
	a.jobs.Wait()
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("consuming commands: %w", err)
	}
	log.Info("agent stopped")
	return nil
}

// agentInfo is the node as heartbeats describe it.
func (a *agent) agentInfo() *api.Agent {
	a.mu.Lock()
	n := 0
	for _, s := range a.sessions {
		if s.state != stRemoving {
			n++
		}
	}
	a.mu.Unlock()
	gpus := a.capacity.GPUs
	if gpus == nil {
		gpus = []api.GPU{}
	}
	return &api.Agent{
		ID:        a.cfg.ID,
		Address:   a.cfg.Address,
		Group:     a.cfg.Group,
		Status:    api.AgentAlive,
		Capacity:  api.Resources{CPU: a.capacity.CPU, Mem: a.capacity.Mem, GPU: a.gpuCount},
		Sessions:  n,
		GPUs:      gpus,
		GPUInfo:   a.capacity.GPUInfo,
		NUMANodes: a.capacity.NUMANodes,
		Version:   a.cfg.Version,
		LastSeen:  time.Now().UTC(),
	}
}

// heartbeat refreshes the agent's alive key, then publishes its state.
func (a *agent) heartbeat(ctx context.Context) error {
	info := a.agentInfo()
	ttl := 3 * a.cfg.HeartbeatEvery
	if ttl < 15*time.Second {
		ttl = 15 * time.Second
	}
	c := a.bus.Client()
	cmd := c.B().Set().Key(api.AgentAlivePrefix + a.cfg.ID).Value(info.LastSeen.Format(time.RFC3339Nano)).Ex(ttl).Build()
	if err := c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("setting alive key: %w", err)
	}
	return a.publish(ctx, api.Event{Kind: api.EvHeartbeat, Agent: info})
}

func (a *agent) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.heartbeat(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("sending heartbeat", "err", err)
			}
		}
	}
}

// publish sends an event from this agent.
func (a *agent) publish(ctx context.Context, ev api.Event) error {
	ev.AgentID = a.cfg.ID
	ev.At = time.Now().UTC()
	return a.bus.Publish(ctx, api.EventStream, ev)
}

// containerName is the container of a session.
func containerName(sessionID string) string { return api.ContainerPrefix + sessionID }
