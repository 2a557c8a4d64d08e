package database_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/database"
)

// TestCommitRecheck feeds SchedulePass an outcome that a buggy decider
// could produce and checks the commit's own re-check against the locked
// rows: it never overcommits an agent, places a session twice, uses a
// LOST or foreign agent, or touches a session that is no longer pending.
// A session's first placement in the outcome is the one that counts.
func TestCommitRecheck(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	u, err := db.CreateUser(ctx, database.NewUser{Email: "c@x", PasswordHash: "h", Role: api.RoleUser, AccessKey: "AKC", SecretKey: "S"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateGroup(ctx, "other", ""); err != nil {
		t.Fatal(err)
	}
	for _, a := range []api.Agent{
		{ID: "a1", Group: "default", Capacity: api.Resources{CPU: 2, Mem: 4 << 30}},
		{ID: "far", Group: "other", Capacity: api.Resources{CPU: 64, Mem: 64 << 30}},
	} {
		if _, err := db.UpsertAgent(ctx, a, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]string{}
	for _, n := range []string{"s1", "s2", "s3", "s4", "s5", "gone", "dep"} {
		r, err := db.CreateSession(ctx, database.NewSession{Name: n, OwnerID: u.ID, Image: "i", Type: api.TypeBatch,
			Group: "default", Resources: api.Resources{CPU: 1, Mem: 1 << 30}})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = r.ID
	}
	if _, err := db.Transition(ctx, ids["gone"], api.StatusCancelled, "cancelled by user", database.Update{}); err != nil {
		t.Fatal(err)
	}
	place := func(s, a string) database.Placement {
		return database.Placement{SessionID: ids[s], AgentID: a, Info: "placed on agent " + a + " by policy test"}
	}
	placed, err := db.SchedulePass(ctx, "default", func(_ context.Context, s database.Snapshot) (database.Outcome, error) {
		if len(s.Pending) != 6 || len(s.Agents) != 1 || s.Owners[u.ID].Policy.Name != database.DefaultResourcePolicy {
			t.Errorf("snapshot %+v", s)
		}
		return database.Outcome{
			Placements: []database.Placement{place("s1", "a1"), place("s1", "a1"), place("gone", "a1"),
				place("s2", "far"), place("s3", "nope"), place("s2", "a1"), place("s4", "a1"), place("s5", "a1")},
			Waiting:   map[string]string{ids["s4"]: "policy's reason", ids["s5"]: "policy's reason"},
			Cancelled: map[string]string{ids["dep"]: "dependency x failed (ERROR)"},
			Cursor:    3,
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range placed {
		got = append(got, r.Name+"@"+r.Agent+":"+string(r.Status))
	}
	if strings.Join(got, ",") != "s1@a1:SCHEDULED,s4@a1:SCHEDULED" {
		t.Errorf("placed %v", got)
	}
	a, err := db.Agent(ctx, "a1")
	if err != nil || a.Used != (api.Resources{CPU: 2, Mem: 2 << 30}) {
		t.Errorf("a1 used %+v, %v", a.Used, err)
	}
	want := map[string]string{
		"s2":   "agent far is no longer available in group default",
		"s3":   "agent nope is unknown",
		"s4":   "placed on agent a1 by policy test",
		"s5":   "agent a1 no longer has room for the request",
		"gone": "cancelled by user",
		"dep":  "dependency x failed (ERROR)",
	}
	for n, info := range want {
		s, err := db.Session(ctx, ids[n])
		if err != nil || s.StatusInfo != info {
			t.Errorf("%s: %s %q, want %q (%v)", n, s.Status, s.StatusInfo, info, err)
		}
	}
	if s, _ := db.Session(ctx, ids["dep"]); s.Status != api.StatusCancelled {
		t.Errorf("dep is %s", s.Status)
	}
	h, err := db.History(ctx, ids["s1"])
	if err != nil || len(h) != 2 || h[1].Status != api.StatusScheduled || h[1].Info != "placed on agent a1 by policy test" {
		t.Errorf("s1 history %+v, %v", h, err)
	}
}
