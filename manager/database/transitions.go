package database

import (
	"errors"
	"fmt"

	"github.com/berth-dev/berth/api"
)

// transitions is the session lifecycle: for each status, the statuses it
// may change to. Terminal statuses (TERMINATED, CANCELLED, ERROR) have none.
//
// SCHEDULED → RUNNING is allowed because an agent may start a container
// before the manager has recorded that it sent the create command.
var transitions = map[api.SessionStatus][]api.SessionStatus{
	api.StatusPending:     {api.StatusScheduled, api.StatusCancelled, api.StatusError},
	api.StatusScheduled:   {api.StatusPreparing, api.StatusRunning, api.StatusTerminating, api.StatusError},
	api.StatusPreparing:   {api.StatusRunning, api.StatusTerminating, api.StatusError},
	api.StatusRunning:     {api.StatusTerminating, api.StatusError},
	api.StatusTerminating: {api.StatusTerminated, api.StatusError},
}

// ErrBadTransition is returned for a status change the lifecycle forbids.
var ErrBadTransition = errors.New("status change not allowed")

// CheckTransition reports whether a session may go from one status to
// another: nil if so, else an error wrapping ErrBadTransition that names
// both statuses.
func CheckTransition(from, to api.SessionStatus) error {
	for _, s := range transitions[from] {
		if s == to {
			return nil
		}
	}
	return fmt.Errorf("%w: %s → %s", ErrBadTransition, from, to)
}
