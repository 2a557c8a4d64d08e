package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/policies/abi"
)

func ptr[T any](v T) *T { return &v }

// all is a policy that picks every offered session, in order, onto agent 0.
func all(b *abi.Batch) (*abi.Decision, error) {
	d := &abi.Decision{}
	for _, s := range b.Sessions {
		d.Picks = append(d.Picks, abi.Pick{Session: s.Index})
	}
	return d, nil
}

func TestValidators(t *testing.T) {
	big := []scheduler.Agent{{ID: "a", Capacity: cpu(64, 256)}}
	owner := func(p api.ResourcePolicy, active int) map[string]scheduler.Owner {
		return map[string]scheduler.Owner{"u1": {Policy: p, Active: active}}
	}
	sess := func(id string, sec int, c float64) scheduler.Pending {
		return scheduler.Pending{ID: id, OwnerID: "u1", Owner: "x@example.com", CreatedAt: t0.Add(time.Duration(sec) * time.Second), Request: cpu(c, 1)}
	}
	tests := []struct {
		name      string
		in        scheduler.Input
		placed    []string
		waiting   map[string]string // substring of the reason
		cancelled map[string]string
	}{
		{
			name: "max concurrent counts running and same-pass placements",
			in: scheduler.Input{Owners: owner(api.ResourcePolicy{MaxConcurrentSessions: ptr(2)}, 1),
				Pending: []scheduler.Pending{sess("s1", 1, 1), sess("s2", 2, 1), sess("s3", 3, 1)}},
			placed: []string{"s1"},
			waiting: map[string]string{
				"s2": "max concurrent sessions 2 reached for user x@example.com",
				"s3": "max concurrent sessions 2 reached for user x@example.com",
			},
		},
		{
			name: "max concurrent already reached before the policy",
			in: scheduler.Input{Owners: owner(api.ResourcePolicy{MaxConcurrentSessions: ptr(1)}, 1),
				Pending: []scheduler.Pending{sess("s1", 1, 1)}},
			waiting: map[string]string{"s1": "max concurrent sessions 1 reached for user x@example.com"},
		},
		{
			name: "total CPU slots with held usage and same-pass placements",
			in: scheduler.Input{Owners: owner(api.ResourcePolicy{MaxCPU: ptr(4.0)}, 1),
				Usage:   map[string]api.Resources{"u1": cpu(1, 1)},
				Pending: []scheduler.Pending{sess("s1", 1, 2), sess("s2", 2, 2), sess("s3", 3, 1), sess("s4", 4, 8)}},
			placed: []string{"s1", "s3"},
			waiting: map[string]string{
				"s2": "total resource slots of user x@example.com would be exceeded: asks 2 CPU, holds 3 of 4 CPU",
				"s4": "asks 8 CPU, holds 1 of 4 CPU",
			},
		},
		{
			name: "memory and GPU slots",
			in: scheduler.Input{Owners: owner(api.ResourcePolicy{MaxMem: ptr(int64(1 << 30)), MaxGPU: ptr(0)}, 0),
				Pending: []scheduler.Pending{sess("s1", 1, 1), sess("s2", 2, 1),
					{ID: "g", OwnerID: "u1", CreatedAt: t0, Request: api.Resources{CPU: 1, GPU: 1}}}},
			placed: []string{"s1"},
			waiting: map[string]string{
				"s2": "asks 1 GiB memory, holds 1 GiB of 1 GiB memory",
				"g":  "asks 1 GPU, holds 0 of 0 GPU",
			},
		},
		{
			name: "max pending keeps the newest waiting",
			in: scheduler.Input{Owners: owner(api.ResourcePolicy{MaxPendingSessions: ptr(2)}, 0),
				Pending: []scheduler.Pending{sess("s3", 3, 1), sess("s1", 1, 1), sess("s2", 2, 1)}},
			placed:  []string{"s1", "s2"},
			waiting: map[string]string{"s3": "max pending sessions 2 exceeded for user x@example.com"},
		},
		{
			name: "reserved start time",
			in: scheduler.Input{Now: t0.Add(time.Minute), Pending: []scheduler.Pending{
				{ID: "later", OwnerID: "u1", CreatedAt: t0, Request: cpu(1, 1), StartsAt: t0.Add(time.Hour)},
				{ID: "due", OwnerID: "u1", CreatedAt: t0, Request: cpu(1, 1), StartsAt: t0.Add(time.Second)},
			}},
			placed:  []string{"due"},
			waiting: map[string]string{"later": "reserved to start at 2026-01-01T01:00:00Z"},
		},
		{
			name: "dependencies",
			in: scheduler.Input{
				Deps: map[string]scheduler.Dep{
					"ok":      {Name: "prep", Type: api.TypeBatch, Status: api.StatusTerminated, Result: api.ResultSuccess},
					"run":     {Name: "train", Type: api.TypeBatch, Status: api.StatusRunning, Result: api.ResultUndefined},
					"fail":    {Name: "bad", Type: api.TypeBatch, Status: api.StatusTerminated, Result: api.ResultFailure},
					"err":     {Name: "broken", Type: api.TypeBatch, Status: api.StatusError},
					"ia-done": {Name: "nb", Type: api.TypeInteractive, Status: api.StatusTerminated},
				},
				Pending: []scheduler.Pending{
					{ID: "d1", OwnerID: "u1", CreatedAt: t0, Request: cpu(1, 1), DependsOn: []string{"ok", "ia-done"}},
					{ID: "d2", OwnerID: "u1", CreatedAt: t0, Request: cpu(1, 1), DependsOn: []string{"ok", "run"}},
					{ID: "d3", OwnerID: "u1", CreatedAt: t0, Request: cpu(1, 1), DependsOn: []string{"run", "fail"}},
					{ID: "d4", OwnerID: "u1", CreatedAt: t0, Request: cpu(1, 1), DependsOn: []string{"err"}},
					{ID: "d5", OwnerID: "u1", CreatedAt: t0, Request: cpu(1, 1), DependsOn: []string{"gone"}},
				},
			},
			placed:  []string{"d1"},
			waiting: map[string]string{"d2": "waiting for dependency train to end with SUCCESS (now RUNNING)"},
			cancelled: map[string]string{
				"d3": "dependency bad failed (result FAILURE)",
				"d4": "dependency broken failed (ERROR)",
				"d5": "dependency gone no longer exists",
			},
		},
		{
			name: "unlimited owner",
			in: scheduler.Input{Owners: owner(api.ResourcePolicy{Name: "default"}, 50),
				Pending: []scheduler.Pending{sess("s1", 1, 1), sess("s2", 2, 1)}},
			placed: []string{"s1", "s2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Group, in.Agents = "default", big
			plan, err := scheduler.Schedule(context.Background(), policyFunc(all), in)
			if err != nil {
				t.Fatal(err)
			}
			var placed []string
			for _, p := range plan.Placements {
				placed = append(placed, p.SessionID)
			}
			if strings.Join(placed, ",") != strings.Join(tt.placed, ",") {
				t.Errorf("placed %v, want %v (waiting %v)", placed, tt.placed, plan.Waiting)
			}
			for id, want := range tt.waiting {
				if !strings.Contains(plan.Waiting[id], want) {
					t.Errorf("waiting[%s] = %q, want %q", id, plan.Waiting[id], want)
				}
			}
			if len(plan.Cancelled) != len(tt.cancelled) {
				t.Errorf("cancelled %v, want %v", plan.Cancelled, tt.cancelled)
			}
			for id, want := range tt.cancelled {
				if plan.Cancelled[id] != want {
					t.Errorf("cancelled[%s] = %q, want %q", id, plan.Cancelled[id], want)
				}
				if _, ok := plan.Waiting[id]; ok {
					t.Errorf("cancelled %s is also waiting", id)
				}
			}
			if len(plan.Dropped) != 0 {
				t.Errorf("dropped %+v", plan.Dropped)
			}
		})
	}
}
