package database

import (
	"errors"
	"testing"

	"github.com/berth-dev/berth/api"
)

func TestCheckTransition(t *testing.T) {
	all := []api.SessionStatus{
		api.StatusPending, api.StatusScheduled, api.StatusPreparing, api.StatusRunning,
		api.StatusTerminating, api.StatusTerminated, api.StatusCancelled, api.StatusError,
	}
	allowed := map[[2]api.SessionStatus]bool{
		{api.StatusPending, api.StatusScheduled}:      true,
		{api.StatusPending, api.StatusCancelled}:      true,
		{api.StatusPending, api.StatusError}:          true,
		{api.StatusScheduled, api.StatusPreparing}:    true,
		{api.StatusScheduled, api.StatusRunning}:      true,
		{api.StatusScheduled, api.StatusTerminating}:  true,
		{api.StatusScheduled, api.StatusError}:        true,
		{api.StatusPreparing, api.StatusRunning}:      true,
		{api.StatusPreparing, api.StatusTerminating}:  true,
		{api.StatusPreparing, api.StatusError}:        true,
		{api.StatusRunning, api.StatusTerminating}:    true,
		{api.StatusRunning, api.StatusError}:          true,
		{api.StatusTerminating, api.StatusTerminated}: true,
		{api.StatusTerminating, api.StatusError}:      true,
	}
	for _, from := range all {
		for _, to := range all {
			err := CheckTransition(from, to)
			want := allowed[[2]api.SessionStatus{from, to}]
			if want && err != nil {
				t.Errorf("%s → %s: got %v, want allowed", from, to, err)
			}
			if !want && !errors.Is(err, ErrBadTransition) {
				t.Errorf("%s → %s: got %v, want ErrBadTransition", from, to, err)
			}
		}
	}
	// Terminal statuses lead nowhere.
	for _, s := range all {
		if !s.Terminal() {
			continue
		}
		for _, to := range all {
			if CheckTransition(s, to) == nil {
				t.Errorf("terminal %s → %s allowed", s, to)
			}
		}
	}
}
