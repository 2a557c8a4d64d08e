package scheduler_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/policies/abi"
)

// policyFunc is a fake policy.
type policyFunc func(*abi.Batch) (*abi.Decision, error)

func (f policyFunc) Decide(_ context.Context, b *abi.Batch) (*abi.Decision, error) { return f(b) }

// picks returns a fake policy that answers with the given (session, agent)
// index pairs.
func picks(pairs ...[2]uint32) policyFunc {
	return func(*abi.Batch) (*abi.Decision, error) {
		d := &abi.Decision{}
		for _, p := range pairs {
			d.Picks = append(d.Picks, abi.Pick{Session: p[0], Agent: p[1]})
		}
		return d, nil
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func cpu(c float64, memGiB int64) api.Resources { return api.Resources{CPU: c, Mem: memGiB << 30} }

// group has agents a (4 CPU, 2 used) and b (8 CPU), sorted a, b, and
// sessions s1..s3 created in that order (batch indices 0..2).
func group() scheduler.Input {
	return scheduler.Input{
		Group: "default",
		Agents: []scheduler.Agent{
			{ID: "b", Capacity: cpu(8, 16)},
			{ID: "a", Capacity: cpu(4, 16), Used: cpu(2, 1)},
		},
		Pending: []scheduler.Pending{
			{ID: "s3", OwnerID: "u2", CreatedAt: t0.Add(3 * time.Second), Request: cpu(1, 1)},
			{ID: "s1", OwnerID: "u1", CreatedAt: t0.Add(1 * time.Second), Request: cpu(2, 1)},
			{ID: "s2", OwnerID: "u1", CreatedAt: t0.Add(2 * time.Second), Request: cpu(2, 1)},
		},
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		name       string
		in         func() scheduler.Input
		policy     policyFunc
		placements []string // "session@agent"
		dropped    []string // reasons, substring match in order
		waiting    map[string]string
	}{
		{
			name:       "all placed",
			in:         group,
			policy:     picks([2]uint32{0, 1}, [2]uint32{1, 0}, [2]uint32{2, 1}),
			placements: []string{"s1@b", "s2@a", "s3@b"},
			waiting:    map[string]string{},
		},
		{
			name:       "unknown indices dropped",
			in:         group,
			policy:     picks([2]uint32{7, 0}, [2]uint32{0, 9}, [2]uint32{1, 0}),
			placements: []string{"s2@a"},
			dropped:    []string{"unknown session index 7", "unknown agent index 9"},
			waiting: map[string]string{
				"s1": "waiting: the policy's pick was dropped: unknown agent index 9",
				"s3": scheduler.ReasonNotPlaced,
			},
		},
		{
			name:       "duplicate session dropped",
			in:         group,
			policy:     picks([2]uint32{0, 1}, [2]uint32{0, 0}),
			placements: []string{"s1@b"},
			dropped:    []string{"session already placed on agent b by an earlier pick"},
			waiting:    map[string]string{"s2": scheduler.ReasonNotPlaced, "s3": scheduler.ReasonNotPlaced},
		},
		{
			name:       "overcommit dropped",
			in:         group,
			policy:     picks([2]uint32{0, 0}, [2]uint32{1, 0}, [2]uint32{2, 1}),
			placements: []string{"s1@a", "s3@b"},
			dropped:    []string{"does not fit agent a: needs 2 CPU, 1 GiB memory, 0 GPUs; has 0 CPU, 14 GiB memory, 0 GPUs free"},
			waiting:    map[string]string{"s2": "waiting: the policy's pick was dropped: does not fit agent a: needs 2 CPU, 1 GiB memory, 0 GPUs; has 0 CPU, 14 GiB memory, 0 GPUs free"},
		},
		{
			name:    "nothing placed",
			in:      group,
			policy:  picks(),
			waiting: map[string]string{"s1": scheduler.ReasonNotPlaced, "s2": scheduler.ReasonNotPlaced, "s3": scheduler.ReasonNotPlaced},
		},
		{
			name: "validators",
			in: func() scheduler.Input {
				in := group()
				in.Pending = append(in.Pending,
					scheduler.Pending{ID: "huge", CreatedAt: t0, Request: cpu(64, 1)},
					scheduler.Pending{ID: "busy", CreatedAt: t0, Request: cpu(6, 1)},
					scheduler.Pending{ID: "gpu", CreatedAt: t0, Request: api.Resources{CPU: 1, GPU: 1}},
					scheduler.Pending{ID: "mem", CreatedAt: t0, Request: api.Resources{CPU: 1, Mem: 20 << 30}},
					scheduler.Pending{ID: "neg", CreatedAt: t0, Request: api.Resources{CPU: -1}},
				)
				in.Agents[0].Used = cpu(4, 1) // b: 4 CPU free, a: 2 CPU free
				return in
			},
			policy:     picks([2]uint32{0, 0}),
			placements: []string{"s1@a"},
			waiting: map[string]string{
				"huge": "no agent in group default has 64 CPU (largest: 8)",
				"busy": "no agent in group default has 6 CPU free (largest free: 4)",
				"gpu":  "no agent in group default has 1 GPU (largest: 0)",
				"mem":  "no agent in group default has 20 GiB memory (largest: 16 GiB)",
				"neg":  "invalid resource request: negative CPU",
				"s2":   scheduler.ReasonNotPlaced,
				"s3":   scheduler.ReasonNotPlaced,
			},
		},
		{
			name: "room gone after placements",
			in: func() scheduler.Input {
				in := group()
				in.Agents = in.Agents[1:] // only a: 2 CPU free
				return in
			},
			policy:     picks([2]uint32{0, 0}),
			placements: []string{"s1@a"},
			waiting: map[string]string{
				"s2": "no agent in group default has 2 CPU free (largest free: 0)",
				"s3": "no agent in group default has 1 CPU free (largest free: 0)",
			},
		},
		{
			name: "no agents",
			in: func() scheduler.Input {
				in := group()
				in.Agents = nil
				return in
			},
			policy: func(*abi.Batch) (*abi.Decision, error) { panic("policy called without sessions") },
			waiting: map[string]string{
				"s1": "no ALIVE agent in group default", "s2": "no ALIVE agent in group default", "s3": "no ALIVE agent in group default",
			},
		},
		{
			name: "resources needed at once",
			in: func() scheduler.Input {
				return scheduler.Input{
					Group: "g",
					Agents: []scheduler.Agent{
						{ID: "cpu", Capacity: cpu(8, 1)},
						{ID: "mem", Capacity: cpu(1, 8)},
					},
					Pending: []scheduler.Pending{{ID: "s", Request: cpu(4, 4)}},
				}
			},
			policy:  picks(),
			waiting: map[string]string{"s": "no agent in group g has 4 CPU, 4 GiB memory, 0 GPUs at the same time"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := scheduler.Schedule(context.Background(), tt.policy, tt.in())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range plan.Placements {
				got = append(got, p.SessionID+"@"+p.AgentID)
			}
			if !reflect.DeepEqual(got, tt.placements) {
				t.Errorf("placements %v, want %v", got, tt.placements)
			}
			if len(plan.Dropped) != len(tt.dropped) {
				t.Errorf("dropped %+v, want %v", plan.Dropped, tt.dropped)
			} else {
				for i, d := range plan.Dropped {
					if !strings.Contains(d.Reason, tt.dropped[i]) {
						t.Errorf("dropped[%d] %q, want %q", i, d.Reason, tt.dropped[i])
					}
				}
			}
			if !reflect.DeepEqual(plan.Waiting, tt.waiting) {
				t.Errorf("waiting:\n got %q\nwant %q", plan.Waiting, tt.waiting)
			}
		})
	}
}

func TestSchedulePolicyError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name   string
		policy policyFunc
	}{
		{"error", func(*abi.Batch) (*abi.Decision, error) { return nil, boom }},
		{"nil decision", func(*abi.Batch) (*abi.Decision, error) { return nil, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := scheduler.Schedule(context.Background(), tt.policy, group())
			if err == nil {
				t.Fatal("no error")
			}
			if !reflect.DeepEqual(plan, scheduler.Plan{}) {
				t.Fatalf("plan not empty: %+v", plan)
			}
		})
	}
}

func TestBuildBatch(t *testing.T) {
	in := group()
	in.Usage = map[string]api.Resources{"u1": cpu(3, 2)}
	in.Cursor = 1
	in.Config = "sequencer=drf"
	b := scheduler.BuildBatch(in)
	if b.Config != "sequencer=drf" || b.Cursor != 1 || len(b.Sessions) != 3 || len(b.Agents) != 2 || len(b.Owners) != 2 {
		t.Fatalf("batch %+v", b)
	}
	// Sessions oldest first, agents by ID, owners by ID.
	if b.Sessions[0].Request.CPUMilli != 2000 || b.Sessions[2].Owner != 1 || b.Agents[0].Used.CPUMilli != 2000 {
		t.Fatalf("order: %+v", b)
	}
	if b.Owners[0] != (abi.Resources{CPUMilli: 3000, Mem: 2 << 30}) {
		t.Fatalf("owners %+v", b.Owners)
	}
	if b.Total != (abi.Resources{CPUMilli: 12000, Mem: 32 << 30}) {
		t.Fatalf("total %+v", b.Total)
	}
}
