// Package runtime declares what the agent needs from a container runtime:
// run a session's container with labels and published ports, look at it,
// run commands in it, read its output and remove it. agent/runtime/podman
// implements it against `podman system service`.
package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/berth-dev/berth/api"
)

// ErrNotFound is returned (wrapped) when a container or image does not exist.
var ErrNotFound = errors.New("not found")

// Port publishes a container port on the host.
type Port struct {
	// HostIP is the host address to listen on, e.g. 127.0.0.1.
	HostIP        string
	HostPort      int
	ContainerPort int
}

// Spec is everything needed to run one container.
type Spec struct {
	Name   string
	Image  string
	Labels map[string]string
	Env    map[string]string
	// Command replaces the image's CMD when non-empty.
	Command []string
	// CPU in cores (fractions allowed); 0 means no limit.
	CPU float64
	// Mem in bytes; 0 means no limit.
	Mem   int64
	Ports []Port
	// Devices are CDI device names, e.g. nvidia.com/gpu=0.
	Devices []string
}

// Container states, as Container.State reports them.
const (
	StateCreated = "created"
	StateRunning = "running"
	StateExited  = "exited"
)

// Container is a container as the runtime reports it.
type Container struct {
	ID     string
	Name   string
	Image  string
	Labels map[string]string
	// State is StateCreated, StateRunning, StateExited, or another
	// runtime-specific word (paused, stopping, ...).
	State string
	// ExitCode is meaningful when State is StateExited.
	ExitCode int
}

// Runtime runs containers. Methods taking a container accept its ID or name.
type Runtime interface {
	// ImageLabels returns an image's labels; an absent image gives an error
	// wrapping ErrNotFound.
	ImageLabels(ctx context.Context, image string) (map[string]string, error)
	// Run creates and starts a container and returns its ID. A container
	// that was created but failed to start is removed again.
	Run(ctx context.Context, s Spec) (string, error)
	// Start starts an existing container that is not running.
	Start(ctx context.Context, id string) error
	// Inspect describes one container; an absent one gives an error wrapping
	// ErrNotFound.
	Inspect(ctx context.Context, id string) (Container, error)
	// List returns all containers (running or not) carrying every given
	// label key=value.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Exec runs cmd in a running container until it ends or ctx does.
	Exec(ctx context.Context, id string, cmd []string) (api.ExecResult, error)
	// Logs returns the container's stdout and stderr, interleaved, keeping
	// at most the last maxBytes bytes.
	Logs(ctx context.Context, id string, maxBytes int) (string, error)
	// Remove stops the container (SIGTERM, then SIGKILL after timeout) and
	// removes it. An absent container gives an error wrapping ErrNotFound.
	Remove(ctx context.Context, id string, timeout time.Duration) error
}
