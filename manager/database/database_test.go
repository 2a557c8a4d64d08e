package database_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/database"
	"github.com/berth-dev/berth/manager/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func open(t *testing.T) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), dbtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrateTwice(t *testing.T) {
	db := open(t)
	n, err := db.Migrate(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
	}
	g, err := db.Group(context.Background(), "default")
	if err != nil || g.Policy != "fifo-dispersed" {
		t.Fatalf("default group = %+v, %v", g, err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	url := dbtest.Start(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	errs := make(chan error, 3)
	total := make(chan int, 3)
	for range 3 {
		go func() {
			db, err := database.Open(ctx, log, url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			n, err := db.Migrate(ctx)
			total <- n
			errs <- err
		}()
	}
	sum := 0
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		sum += <-total
	}
	ms, _ := database.Migrations()
	if sum != len(ms) {
		t.Errorf("applied %d migrations in all, want %d", sum, len(ms))
	}
}

func TestSessionLifecycleAndUsage(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	var seen []api.SessionStatus
	db.OnChange(func(s api.Session) { seen = append(seen, s.Status) })
	u, err := db.CreateUser(ctx, database.NewUser{Email: "a@x", PasswordHash: "h", Role: api.RoleUser, AccessKey: "AK1", SecretKey: "SK1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, database.NewUser{Email: "a@x", PasswordHash: "h", Role: api.RoleUser, AccessKey: "AK2", SecretKey: "SK2"}); !errors.Is(err, database.ErrConflict) {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := db.UpsertAgent(ctx, api.Agent{ID: "a1", Address: "127.0.0.1", Group: "default",
		Capacity: api.Resources{CPU: 2, Mem: 1 << 30}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ns := database.NewSession{Name: "demo", OwnerID: u.ID, Image: "img", Type: api.TypeInteractive, Group: "default",
		Resources: api.Resources{CPU: 1, Mem: 256 << 20}}
	rec, err := db.CreateSession(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateSession(ctx, ns); !errors.Is(err, database.ErrConflict) {
		t.Fatalf("duplicate live name: %v", err)
	}
	ns.Group = "nope"
	ns.Name = "other"
	if _, err := db.CreateSession(ctx, ns); !errors.Is(err, database.ErrUnknownGroup) {
		t.Fatalf("unknown group: %v", err)
	}
	for _, ref := range []string{rec.ID, api.ShortID(rec.ID), "demo"} {
		got, err := db.ResolveSession(ctx, ref, u.ID, false)
		if err != nil || got.ID != rec.ID {
			t.Errorf("ResolveSession(%q) = %v, %v", ref, got.ID, err)
		}
	}
	if _, err := db.ResolveSession(ctx, "demo", "00000000-0000-0000-0000-000000000000", false); !errors.Is(err, database.ErrNotFound) {
		t.Errorf("other user's name: %v", err)
	}

	placed, err := db.SchedulePass(ctx, "default", func(_ context.Context, s database.Snapshot) (database.Outcome, error) {
		if len(s.Pending) != 1 || len(s.Agents) != 1 {
			t.Fatalf("snapshot %+v", s)
		}
		return database.Outcome{Placements: []database.Placement{{SessionID: rec.ID, AgentID: "a1", Info: "placed"}}}, nil
	})
	if err != nil || len(placed) != 1 || placed[0].Status != api.StatusScheduled || placed[0].Agent != "a1" {
		t.Fatalf("SchedulePass = %+v, %v", placed, err)
	}
	agentUsed := func() api.Resources {
		a, err := db.Agent(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		return a.Used
	}
	if got := agentUsed(); got.CPU != 1 || got.Mem != 256<<20 {
		t.Fatalf("used after placement = %+v", got)
	}
	if _, err := db.Transition(ctx, rec.ID, api.StatusTerminated, "x", database.Update{}); !errors.Is(err, database.ErrBadTransition) {
		t.Fatalf("SCHEDULED → TERMINATED: %v", err)
	}
	steps := []api.SessionStatus{api.StatusPreparing, api.StatusRunning, api.StatusTerminating, api.StatusTerminated}
	for _, st := range steps {
		if _, err := db.Transition(ctx, rec.ID, st, "step", database.Update{Release: st == api.StatusTerminated}); err != nil {
			t.Fatal(err)
		}
	}
	// Releasing again (a duplicate event) must not free twice.
	if _, err := db.UpdateSession(ctx, rec.ID, "", database.Update{Release: true}); err != nil {
		t.Fatal(err)
	}
	if got := agentUsed(); got != (api.Resources{}) {
		t.Fatalf("used after release = %+v", got)
	}
	h, err := db.History(ctx, rec.ID)
	if err != nil || len(h) != 6 {
		t.Fatalf("history = %+v, %v", h, err)
	}
	final, _ := db.Session(ctx, rec.ID)
	if final.EndedAt == nil || final.StartedAt == nil {
		t.Errorf("timestamps not set: %+v", final.Session)
	}
	// The name is free again once the session ended.
	ns.Group, ns.Name = "default", "demo"
	if _, err := db.CreateSession(ctx, ns); err != nil {
		t.Fatalf("reusing an ended name: %v", err)
	}
	want := []api.SessionStatus{"PENDING", "SCHEDULED", "PREPARING", "RUNNING", "TERMINATING", "TERMINATED", "TERMINATED", "PENDING"}
	if len(seen) != len(want) {
		t.Fatalf("notifications %v, want %v", seen, want)
	}
}

func TestPorts(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	u, _ := db.CreateUser(ctx, database.NewUser{Email: "p@x", PasswordHash: "h", Role: api.RoleUser, AccessKey: "AKP", SecretKey: "S"})
	mk := func(name string) string {
		r, err := db.CreateSession(ctx, database.NewSession{Name: name, OwnerID: u.ID, Image: "i", Type: api.TypeInteractive,
			Group: "default", Resources: api.DefaultResources})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	s1, s2 := mk("p1"), mk("p2")
	got, err := db.AllocatePorts(ctx, s1, []string{"web", "jup"}, 10200, 10202)
	if err != nil || got["web"] != 10200 || got["jup"] != 10201 {
		t.Fatalf("AllocatePorts = %v, %v", got, err)
	}
	again, _ := db.AllocatePorts(ctx, s1, []string{"web"}, 10200, 10202)
	if again["web"] != 10200 {
		t.Fatalf("realloc = %v", again)
	}
	if _, err := db.AllocatePorts(ctx, s2, []string{"a", "b"}, 10200, 10202); !errors.Is(err, database.ErrNoFreePort) {
		t.Fatalf("exhausted range: %v", err)
	}
	if err := db.FreePorts(ctx, s1); err != nil {
		t.Fatal(err)
	}
	if got, err := db.AllocatePorts(ctx, s2, []string{"a", "b"}, 10200, 10202); err != nil || len(got) != 2 {
		t.Fatalf("after free = %v, %v", got, err)
	}
}
