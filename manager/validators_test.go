package manager_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
)

// waitInfo waits until session ref is in status want with a reason
// containing info.
func (e *env) waitInfo(ref string, want api.SessionStatus, info string) api.Session {
	e.t.Helper()
	var s api.Session
	e.eventually(fmt.Sprintf("session %s %s %q", ref, want, info), func() string {
		var err error
		if s, err = e.admin.GetSession(e.ctx, ref); err != nil {
			return err.Error()
		}
		if s.Status != want || !strings.Contains(s.StatusInfo, info) {
			return fmt.Sprintf("%s %q", s.Status, s.StatusInfo)
		}
		return ""
	})
	return s
}

func TestResourcePolicy(t *testing.T) {
	e := start(t)
	e.agent("a1", api.Resources{CPU: 8, Mem: 16 << 30})
	u, err := e.admin.CreateUser(e.ctx, api.CreateUserRequest{Email: "bob@example.com", Password: "bob-password"})
	if err != nil {
		t.Fatal(err)
	}
	bob := client.New(e.srv.URL, u.AccessKey, u.SecretKey)

	status, _ := e.signed("GET", "/api/v1/users/bob@example.com/policy", "", adminSK)
	if status != 200 {
		t.Fatalf("GET policy: %d", status)
	}
	for _, tt := range []struct {
		body   string
		status int
		detail string
	}{
		{`{"max_cpu":-1}`, 422, "max_cpu must not be negative"},
		{`{"name":"Bad Name"}`, 422, "invalid resource policy name"},
		{`{"max_sessions":1}`, 400, `unknown field "max_sessions"`},
	} {
		if status, p := e.signed("PUT", "/api/v1/users/bob@example.com/policy", tt.body, adminSK); status != tt.status || !strings.Contains(p.Detail, tt.detail) {
			t.Errorf("PUT %s: %d %q, want %d %q", tt.body, status, p.Detail, tt.status, tt.detail)
		}
	}
	if status, _ := e.signed("PUT", "/api/v1/users/nobody@example.com/policy", `{}`, adminSK); status != 404 {
		t.Errorf("PUT for an unknown user: %d", status)
	}
	if status, p := e.signed("PUT", "/api/v1/users/bob@example.com/policy",
		`{"name":"small","max_cpu":2,"max_concurrent_sessions":1,"max_pending_sessions":1}`, adminSK); status != 200 {
		t.Fatalf("PUT policy: %d %s", status, p.Detail)
	}

	one := &api.Resources{CPU: 1, Mem: 1 << 30}
	s1, err := bob.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "one", Resources: one})
	if err != nil {
		t.Fatal(err)
	}
	e.waitStatus(s1.ID, api.StatusPreparing)
	s2, err := bob.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "two", Resources: one})
	if err != nil {
		t.Fatal(err)
	}
	e.waitInfo(s2.ID, api.StatusPending, "max concurrent sessions 1 reached for user bob@example.com")
	_, err = bob.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "three", Resources: one})
	if !client.IsStatus(err, 429) || !strings.Contains(err.Error(), "max pending sessions 1 reached for user bob@example.com") {
		t.Errorf("third session: %v, want 429", err)
	}

	// Raising the concurrency limit lets two start; the CPU slots then stop
	// the third.
	if status, p := e.signed("PUT", "/api/v1/users/bob@example.com/policy",
		`{"name":"small","max_cpu":2,"max_concurrent_sessions":5,"max_pending_sessions":1}`, adminSK); status != 200 {
		t.Fatalf("PUT policy: %d %s", status, p.Detail)
	}
	e.waitStatus(s2.ID, api.StatusPreparing)
	s3, err := bob.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "three", Resources: one})
	if err != nil {
		t.Fatal(err)
	}
	e.waitInfo(s3.ID, api.StatusPending, "total resource slots of user bob@example.com would be exceeded: asks 1 CPU, holds 2 of 2 CPU")
	_, err = bob.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "huge", Resources: &api.Resources{CPU: 4}})
	if !client.IsStatus(err, 422) || !strings.Contains(err.Error(), "allows at most 2 in total") {
		t.Errorf("session above the slots: %v, want 422", err)
	}
	// The admin is unlimited (the default policy).
	if _, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "adm", Resources: &api.Resources{CPU: 4}}); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("adm", api.StatusPreparing)
}

func TestReservedAndDependencies(t *testing.T) {
	e := start(t)
	a := e.agent("a1", api.Resources{CPU: 8, Mem: 16 << 30})

	if _, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", StartsAt: ptr(time.Now())}); !client.IsStatus(err, 422) ||
		!strings.Contains(err.Error(), "starts_at is only for batch sessions") {
		t.Errorf("starts_at on an interactive session: %v", err)
	}
	if _, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", DependsOn: []string{"nope"}}); !client.IsStatus(err, 422) ||
		!strings.Contains(err.Error(), `unknown dependency "nope"`) {
		t.Errorf("unknown dependency: %v", err)
	}

	// far enough ahead that a slow (race-enabled, loaded) run still sees it waiting
	at := time.Now().Add(5 * time.Second).Truncate(time.Second).Add(time.Second)
	later, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "later", Type: api.TypeBatch, StartsAt: &at})
	if err != nil {
		t.Fatal(err)
	}
	if later.StartsAt == nil || !later.StartsAt.Equal(at) {
		t.Errorf("starts_at = %v, want %v", later.StartsAt, at)
	}
	e.waitInfo("later", api.StatusPending, "reserved to start at "+at.UTC().Format(time.RFC3339))

	first, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "first", Type: api.TypeBatch})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "bad", Type: api.TypeBatch})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "second", Type: api.TypeBatch,
		DependsOn: []string{"first", first.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.DependsOn) != 1 || second.DependsOn[0] != first.ID {
		t.Errorf("depends_on = %v, want [%s]", second.DependsOn, first.ID)
	}
	third, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "third", Type: api.TypeBatch,
		DependsOn: []string{"first", "bad"}})
	if err != nil {
		t.Fatal(err)
	}
	e.waitInfo("second", api.StatusPending, "waiting for dependency first to end with SUCCESS")

	// first succeeds, bad fails.
	zero, three := 0, 3
	for _, x := range []struct {
		id   string
		code *int
	}{{first.ID, &zero}, {bad.ID, &three}} {
		e.waitStatus(x.id, api.StatusPreparing)
		a.send(api.Event{Kind: api.EvStarted, SessionID: x.id, ContainerID: "c-" + x.id})
		e.waitStatus(x.id, api.StatusRunning)
		a.send(api.Event{Kind: api.EvExited, SessionID: x.id, ExitCode: x.code})
		e.waitStatus(x.id, api.StatusTerminating)
		a.send(api.Event{Kind: api.EvRemoved, SessionID: x.id})
		e.waitStatus(x.id, api.StatusTerminated)
	}
	e.waitStatus("second", api.StatusPreparing)
	e.waitInfo(third.ID, api.StatusCancelled, "dependency bad failed (result FAILURE)")
	s := e.waitStatus("later", api.StatusPreparing)
	if time.Now().Before(at) {
		t.Errorf("reserved session started before %v", at)
	}
	if s.History[len(s.History)-2].Status != api.StatusScheduled {
		t.Errorf("history %+v", s.History)
	}
}

func ptr[T any](v T) *T { return &v }
