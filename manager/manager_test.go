package manager_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/apptoken"
	"github.com/berth-dev/berth/api/client"
	"github.com/berth-dev/berth/api/signing"
	"github.com/berth-dev/berth/bus"
	"github.com/berth-dev/berth/bus/bustest"
	"github.com/berth-dev/berth/manager"
	"github.com/berth-dev/berth/manager/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	adminEmail = "admin@example.com"
	adminPass  = "admin-password"
	adminAK    = "BKADMINTESTKEY000001"
	adminSK    = "admin-secret-key-for-tests-0000000000000"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

// env is a running manager with a real PostgreSQL and Valkey.
type env struct {
	t     *testing.T
	ctx   context.Context
	srv   *httptest.Server
	bus   *bus.Bus
	admin *client.Client
	// pg and valkey are the servers this manager uses.
	pg, valkey string
	// logs holds what the manager logged.
	logs *logBuffer
}

// logBuffer keeps a manager's log lines for tests to search.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the logged lines that contain every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
next:
	for _, l := range strings.Split(b.buf.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func start(t *testing.T, opts ...func(*manager.Config)) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pg := dbtest.Start(t)
	valkey := bustest.StartRedis(t)
	logs := &logBuffer{}
	var w io.Writer = logs
	if testing.Verbose() {
		w = io.MultiWriter(logs, &testWriter{t})
	}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := manager.Config{
		PostgresURL: pg, ValkeyAddr: valkey, Secret: secret,
		PublicURL: "http://localhost:8080", AppsDomain: "apps.localhost", EdgePort: 8080, AppPorts: [2]int{10200, 10210},
		BootstrapAdmin: &manager.BootstrapAdmin{Email: adminEmail, Password: adminPass, AccessKey: adminAK, SecretKey: adminSK},
		SweepEvery:     100 * time.Millisecond, AgentLostAfter: time.Minute, InstanceName: "test-manager",
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := manager.New(ctx, log, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	wait := m.Start(ctx)
	srv := httptest.NewServer(m.Handler())
	b, err := bus.Dial(ctx, valkey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		wait()
		b.Close()
		m.Close()
	})
	return &env{t: t, ctx: ctx, srv: srv, bus: b, pg: cfg.PostgresURL, valkey: cfg.ValkeyAddr, logs: logs,
		admin: client.New(srv.URL, adminAK, adminSK, client.WithPollInterval(50*time.Millisecond))}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// raw sends an unsigned request and returns the status, content type and
// decoded problem detail.
func (e *env) raw(method, path, body string, hdr map[string]string) (int, string, api.Problem, *http.Response) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p api.Problem
	data, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(data, &p)
	return resp.StatusCode, resp.Header.Get("Content-Type"), p, resp
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signed sends a request signed with the admin keypair.
func (e *env) signed(method, path, body, sk string) (int, api.Problem) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := signing.Sign(req, adminAK, sk, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var p api.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return resp.StatusCode, p
}

// eventually polls f until it returns "" or the generous deadline passes.
func (e *env) eventually(what string, f func() string) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		if last = f(); last == "" {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	e.t.Fatalf("%s: %s", what, last)
}

func (e *env) waitStatus(ref string, want api.SessionStatus) api.Session {
	e.t.Helper()
	var s api.Session
	e.eventually("session "+ref+" to be "+string(want), func() string {
		var err error
		s, err = e.admin.GetSession(e.ctx, ref)
		if err != nil {
			return err.Error()
		}
		if s.Status != want {
			return fmt.Sprintf("status %s (%s)", s.Status, s.StatusInfo)
		}
		return ""
	})
	return s
}

func (e *env) agentUsed(id string) api.Resources {
	e.t.Helper()
	as, err := e.admin.ListAgents(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range as {
		if a.ID == id {
			return a.Used
		}
	}
	e.t.Fatalf("agent %s not listed", id)
	return api.Resources{}
}

func (e *env) route(label string) (api.Route, bool) {
	e.t.Helper()
	c := e.bus.Client()
	s, err := c.Do(e.ctx, c.B().Hget().Key(api.RoutesHash).Field(label).Build()).ToString()
	if err != nil {
		return api.Route{}, false
	}
	var r api.Route
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		e.t.Fatal(err)
	}
	return r, true
}

// fakeAgent stands in for `berth agent`: it heartbeats, answers exec and
// logs commands, and hands create/destroy commands to the test.
type fakeAgent struct {
	e    *env
	id   string
	cmds chan api.Command
}

func (e *env) agent(id string, capacity api.Resources) *fakeAgent {
	a := &fakeAgent{e: e, id: id, cmds: make(chan api.Command, 32)}
	go func() {
		_ = e.bus.Consume(e.ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), api.CommandStreamPrefix+id, api.AgentGroup, id,
			func(ctx context.Context, data []byte) error {
				var c api.Command
				if err := json.Unmarshal(data, &c); err != nil {
					return err
				}
				switch c.Kind {
				case api.CmdExec:
					return e.bus.Reply(ctx, api.ReplyKeyPrefix+c.ID, api.Reply{Exec: &api.ExecResult{
						Stdout: strings.Join(c.Exec.Command, " ") + "\n", ExitCode: 7}})
				case api.CmdLogs:
					return e.bus.Reply(ctx, api.ReplyKeyPrefix+c.ID, api.Reply{Logs: &api.Logs{Logs: "live logs\n"}})
				}
				a.cmds <- c
				return nil
			})
	}()
	a.send(api.Event{Kind: api.EvHeartbeat, Agent: &api.Agent{ID: id, Address: "127.0.0.1", Group: "default", Capacity: capacity,
		GPUInfo: "NVML not found: 0 GPUs", Version: "test"}})
	return a
}

func (a *fakeAgent) send(ev api.Event) {
	a.e.t.Helper()
	ev.AgentID, ev.At = a.id, time.Now()
	if err := a.e.bus.Publish(a.e.ctx, api.EventStream, ev); err != nil {
		a.e.t.Fatal(err)
	}
}

func (a *fakeAgent) next(kind api.CommandKind, session string) api.Command {
	a.e.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case c := <-a.cmds:
			if c.Kind == kind && c.SessionID == session {
				return c
			}
			a.e.t.Logf("skipping command %s for %s", c.Kind, c.SessionID)
		case <-timeout:
			a.e.t.Fatalf("agent %s got no %s command for %s", a.id, kind, session)
		}
	}
}

func TestRESTErrors(t *testing.T) {
	e := start(t)
	status, ctype, p, _ := e.raw("POST", "/api/v1/auth/login", `{"email":"admin@example.com","password":"nope"}`, nil)
	if status != 401 || ctype != "application/problem+json" || p.Detail != "invalid email or password" {
		t.Errorf("wrong password: %d %s %+v", status, ctype, p)
	}
	status, _, p, _ = e.raw("POST", "/api/v1/auth/login", `{"email":"admin@example.com","password":"x","extra":1}`, nil)
	if status != 400 || !strings.Contains(p.Detail, `unknown field "extra"`) {
		t.Errorf("unknown login field: %d %+v", status, p)
	}
	if status, p := e.signed("GET", "/api/v1/sessions", "", "wrong-secret"); status != 401 || p.Detail != "signature does not match" {
		t.Errorf("bad signature: %d %+v", status, p)
	}
	if status, _, p, _ := e.raw("GET", "/api/v1/sessions", "", nil); status != 401 || !strings.Contains(p.Detail, "authentication required") {
		t.Errorf("no credentials: %d %+v", status, p)
	}

	tests := []struct {
		name, body string
		status     int
		detail     string
	}{
		{"unknown field", `{"image":"img","colour":"red"}`, 400, `unknown field "colour"`},
		{"malformed", `{"image":`, 400, "malformed JSON"},
		{"wrong type", `{"image":"img","priority":"high"}`, 400, "field priority"},
		{"no image", `{"name":"x"}`, 422, "image is required"},
		{"bad name", `{"image":"img","name":"Bad_Name"}`, 422, "invalid session name"},
		{"bad type", `{"image":"img","type":"daemon"}`, 422, "invalid session type"},
		{"unknown group", `{"image":"img","group":"nope"}`, 422, `unknown resource group "nope"`},
		{"created", `{"image":"img","name":"demo"}`, 201, ""},
		{"duplicate", `{"image":"img","name":"demo"}`, 409, `session name "demo" is already taken`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, p := e.signed("POST", "/api/v1/sessions", tt.body, adminSK)
			if status != tt.status || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("got %d %q, want %d %q", status, p.Detail, tt.status, tt.detail)
			}
		})
	}

	s, err := e.admin.GetSession(e.ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != api.StatusPending || len(s.History) == 0 || s.History[0].Status != api.StatusPending || s.History[0].Info != "enqueued" {
		t.Errorf("created session = %+v", s)
	}
	if s.Resources != api.DefaultResources || s.Type != api.TypeInteractive || s.Group != "default" || s.Owner != adminEmail {
		t.Errorf("defaults not applied: %+v", s)
	}
	// With no agent the scheduler says why it waits.
	e.eventually("pending reason", func() string {
		s, _ := e.admin.GetSession(e.ctx, "demo")
		if !strings.Contains(s.StatusInfo, "no ALIVE agent") {
			return s.StatusInfo
		}
		return ""
	})
	// A generated name.
	gen, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img"})
	if err != nil || !strings.HasPrefix(gen.Name, "s-") || len(gen.Name) != 8 {
		t.Errorf("generated name: %+v %v", gen.Name, err)
	}
	// Cancel a pending session.
	c, err := e.admin.DeleteSession(e.ctx, gen.ID)
	if err != nil || c.Status != api.StatusCancelled || c.StatusInfo != "cancelled by user" {
		t.Errorf("cancel: %+v %v", c, err)
	}

	// A plain user: admin routes are 403, others' sessions 404.
	u, err := e.admin.CreateUser(e.ctx, api.CreateUserRequest{Email: "bob@example.com", Password: "bob-password"})
	if err != nil || u.SecretKey == "" || u.AccessKey == "" {
		t.Fatalf("create user: %+v %v", u, err)
	}
	if _, err := e.admin.CreateUser(e.ctx, api.CreateUserRequest{Email: "bob@example.com", Password: "bob-password"}); !client.IsStatus(err, 409) {
		t.Errorf("duplicate user: %v", err)
	}
	if _, err := e.admin.CreateUser(e.ctx, api.CreateUserRequest{Email: "eve@example.com", Password: "short"}); !client.IsStatus(err, 422) {
		t.Errorf("short password: %v", err)
	}
	bob := client.New(e.srv.URL, u.AccessKey, u.SecretKey)
	if _, err := bob.ListUsers(e.ctx); !client.IsStatus(err, 403) {
		t.Errorf("user listing users: %v", err)
	}
	if _, err := bob.GetSession(e.ctx, s.ID); !client.IsStatus(err, 404) {
		t.Errorf("user reading admin's session: %v", err)
	}
	if _, err := bob.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "demo"}); err != nil {
		t.Errorf("same name, other owner: %v", err)
	}

	// Login sets the cookie, which then authenticates.
	status, _, _, resp := e.raw("POST", "/api/v1/auth/login", `{"email":"bob@example.com","password":"bob-password"}`, nil)
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "berth_login" {
			cookie = c
		}
	}
	if status != 200 || cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("login: %d %+v", status, cookie)
	}
	if status, _, _, _ := e.raw("GET", "/api/v1/auth/me", "", map[string]string{"Cookie": "berth_login=" + cookie.Value}); status != 200 {
		t.Errorf("me with cookie: %d", status)
	}
	if status, _, _, _ := e.raw("POST", "/api/v1/auth/logout", "", map[string]string{"Cookie": "berth_login=" + cookie.Value}); status != 204 {
		t.Errorf("logout: %d", status)
	}
	if status, _, _, _ := e.raw("GET", "/api/v1/auth/me", "", map[string]string{"Cookie": "berth_login=" + cookie.Value}); status != 401 {
		t.Errorf("me after logout: %d", status)
	}

	// Misc: groups, 404/405, health, OpenAPI, policies.
	if _, err := e.admin.CreateGroup(e.ctx, api.CreateGroupRequest{Name: "gpu"}); err != nil {
		t.Error(err)
	}
	if _, err := e.admin.CreateGroup(e.ctx, api.CreateGroupRequest{Name: "gpu"}); !client.IsStatus(err, 409) {
		t.Errorf("duplicate group: %v", err)
	}
	if status, _, _, _ := e.raw("GET", "/api/v1/nope", "", nil); status != 404 {
		t.Errorf("unknown path: %d", status)
	}
	if status, _, p, _ := e.raw("PUT", "/api/v1/sessions", "", nil); status != 405 {
		t.Errorf("wrong method: %d %+v", status, p)
	}
	status, _, _, _ = e.raw("GET", "/api/v1/health", "", nil)
	if status != 503 {
		t.Errorf("health without agents: %d", status)
	}
	var doc map[string]any
	resp, err = http.Get(e.srv.URL + "/api/v1/openapi.json")
	if err != nil || json.NewDecoder(resp.Body).Decode(&doc) != nil || doc["openapi"] != "3.0.3" {
		t.Errorf("openapi.json: %v %v", err, doc["openapi"])
	}
	if _, err := e.admin.UploadPolicy(e.ctx, "junk", "scheduler", []byte("not wasm")); !client.IsStatus(err, 422) || !strings.Contains(err.Error(), "bad magic") {
		t.Errorf("junk policy: %v", err)
	}
	if _, err := e.admin.UploadPolicy(e.ctx, "fifo-dispersed", "scheduler", []byte("\x00asm")); !client.IsStatus(err, 409) {
		t.Errorf("built-in name: %v", err)
	}
	ps, err := e.admin.ListPolicies(e.ctx)
	if err != nil || len(ps) < 9 || !ps[0].Builtin {
		t.Errorf("policies: %v %v", ps, err)
	}
	if _, err := e.admin.ActivatePolicy(e.ctx, "nope", "default"); !client.IsStatus(err, 404) {
		t.Errorf("activate unknown: %v", err)
	}
	g, err := e.admin.ActivatePolicy(e.ctx, "drf-concentrated", "gpu")
	if err != nil || g.Policy != "drf-concentrated" || g.FallbackPolicy != "fifo-dispersed" {
		t.Errorf("activate: %+v %v", g, err)
	}
	dr, err := e.admin.DryRun(e.ctx, "fifo-dispersed", "default")
	if err != nil || len(dr.Waiting) == 0 {
		t.Errorf("dry run: %+v %v", dr, err)
	}
}

func TestLifecycle(t *testing.T) {
	e := start(t)
	a := e.agent("a1", api.Resources{CPU: 4, Mem: 4 << 30})
	e.eventually("agent ALIVE and healthy", func() string {
		status, _, _, _ := e.raw("GET", "/api/v1/health", "", nil)
		if status != 200 {
			return fmt.Sprint("health ", status)
		}
		return ""
	})

	// Subscribe to the event stream before anything happens.
	events := e.subscribe()

	s, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "localhost/web", Name: "demo",
		Resources: &api.Resources{CPU: 1, Mem: 512 << 20}, Env: map[string]string{"A": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	create := a.next(api.CmdCreate, s.ID)
	if create.Spec == nil || create.Spec.Image != "localhost/web" || create.Spec.Name != "demo" || create.Spec.Env["A"] != "b" {
		t.Fatalf("create spec = %+v", create.Spec)
	}
	e.waitStatus("demo", api.StatusPreparing)
	if u := e.agentUsed("a1"); u.CPU != 1 || u.Mem != 512<<20 {
		t.Errorf("used after placement = %+v", u)
	}
	a.send(api.Event{Kind: api.EvPreparing, SessionID: s.ID})
	a.send(api.Event{Kind: api.EvStarted, SessionID: s.ID, ContainerID: "c1",
		Apps: []api.ServicePort{{Name: "web", Protocol: "http", Port: 8080}}, Ports: map[string]int{"web": 40001}})
	run := e.waitStatus("demo", api.StatusRunning)
	if run.StatusInfo != "container started on agent a1" || run.StartedAt == nil {
		t.Errorf("running = %+v", run)
	}
	var got []string
	for _, h := range run.History {
		got = append(got, string(h.Status)+": "+h.Info)
	}
	want := []string{"PENDING: enqueued", "SCHEDULED: placed on agent a1 by policy fifo-dispersed", "PREPARING: sent to agent a1", "RUNNING: container started on agent a1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("history\n got %q\nwant %q", got, want)
	}

	label := api.HostLabel("demo", s.ID, "web")
	e.eventually("route written", func() string {
		r, ok := e.route(label)
		if !ok {
			return "no route"
		}
		if r.Upstream != "127.0.0.1:40001" || r.OwnerID != s.OwnerID || r.EdgePort != 10200 || r.Public {
			return fmt.Sprintf("route %+v", r)
		}
		return ""
	})

	apps, err := e.admin.SessionApps(e.ctx, "demo")
	if err != nil || len(apps) != 1 {
		t.Fatalf("apps = %+v, %v", apps, err)
	}
	app := apps[0]
	if app.URL != "http://"+label+".apps.localhost:8080/" || app.PortURL != "http://localhost:10200/" {
		t.Errorf("app URLs = %+v", app)
	}
	ou, err := url.Parse(app.OpenURL)
	if err != nil || ou.Path != apptoken.AuthPath || ou.Host != label+".apps.localhost:8080" {
		t.Fatalf("open_url %q", app.OpenURL)
	}
	claims, err := apptoken.Verify(secret, ou.Query().Get(apptoken.QueryParam), time.Now())
	if err != nil || claims.Host != label || claims.Kind != apptoken.KindOpen || !claims.Admin {
		t.Errorf("open token: %+v %v", claims, err)
	}

	res, err := e.admin.Exec(e.ctx, "demo", api.ExecRequest{Command: []string{"echo", "hi"}})
	if err != nil || res.Stdout != "echo hi\n" || res.ExitCode != 7 {
		t.Errorf("exec = %+v, %v", res, err)
	}
	logs, err := e.admin.SessionLogs(e.ctx, "demo")
	if err != nil || logs.Logs != "live logs\n" {
		t.Errorf("logs = %+v, %v", logs, err)
	}

	// /apps/launch: no cookie → login; cookie → a fresh open_url.
	status, _, _, resp := e.raw("GET", "/api/v1/apps/launch?host="+label, "", nil)
	if loc := resp.Header.Get("Location"); status != 302 || !strings.HasPrefix(loc, "http://localhost:8080/login?next=") {
		t.Errorf("launch without login: %d %s", status, loc)
	}
	_, _, _, resp = e.raw("POST", "/api/v1/auth/login", `{"email":"`+adminEmail+`","password":"`+adminPass+`"}`, nil)
	cookie := resp.Cookies()[0]
	status, _, _, resp = e.raw("GET", "/api/v1/apps/launch?host="+label, "", map[string]string{"Cookie": cookie.Name + "=" + cookie.Value})
	if loc := resp.Header.Get("Location"); status != 302 || !strings.HasPrefix(loc, "http://"+label+".apps.localhost:8080/_berth/auth?berth_token=") {
		t.Errorf("launch with login: %d %s", status, loc)
	}

	// A second session on the same agent, to check usage is freed exactly once.
	s2, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "localhost/web", Name: "other", Resources: &api.Resources{CPU: 0.5, Mem: 256 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	a.next(api.CmdCreate, s2.ID)
	e.waitStatus("other", api.StatusPreparing)

	del, err := e.admin.DeleteSession(e.ctx, "demo")
	if err != nil || del.Status != api.StatusTerminating || del.StatusInfo != "terminating: requested by user" {
		t.Errorf("delete = %+v, %v", del, err)
	}
	a.next(api.CmdDestroy, s.ID)
	a.send(api.Event{Kind: api.EvRemoved, SessionID: s.ID})
	end := e.waitStatus(s.ID, api.StatusTerminated)
	if end.EndedAt == nil {
		t.Error("no ended_at")
	}
	a.send(api.Event{Kind: api.EvRemoved, SessionID: s.ID}) // a duplicate after a restart
	a.send(api.Event{Kind: api.EvHeartbeat, Agent: &api.Agent{ID: "a1", Address: "127.0.0.1", Group: "default", Capacity: api.Resources{CPU: 4, Mem: 4 << 30}}})
	e.eventually("usage freed once", func() string {
		if u := e.agentUsed("a1"); u != (api.Resources{CPU: 0.5, Mem: 256 << 20}) {
			return fmt.Sprintf("used %+v", u)
		}
		return ""
	})
	if _, ok := e.route(label); ok {
		t.Error("route still there after removal")
	}
	// Exec on a non-running session.
	if _, err := e.admin.Exec(e.ctx, "other", api.ExecRequest{Command: []string{"true"}}); !client.IsStatus(err, 409) || err.Error() != "session other is PREPARING, not RUNNING" {
		t.Errorf("exec on preparing: %v", err)
	}

	// Too big: stays PENDING with a reason naming the resource.
	big, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "big", Resources: &api.Resources{CPU: 64}})
	if err != nil {
		t.Fatal(err)
	}
	e.eventually("reason for the big session", func() string {
		s, _ := e.admin.GetSession(e.ctx, big.ID)
		if s.Status != api.StatusPending || !strings.Contains(s.StatusInfo, "CPU") || !strings.Contains(s.StatusInfo, "64") {
			return fmt.Sprintf("%s %q", s.Status, s.StatusInfo)
		}
		return ""
	})

	// A failed start names the image.
	a.send(api.Event{Kind: api.EvFailed, SessionID: s2.ID, Message: "image localhost/web not found"})
	failed := e.waitStatus("other", api.StatusError)
	if !strings.Contains(failed.StatusInfo, "localhost/web") {
		t.Errorf("failed info %q", failed.StatusInfo)
	}
	a.next(api.CmdDestroy, s2.ID)
	e.eventually("usage back to zero", func() string {
		if u := e.agentUsed("a1"); u != (api.Resources{}) {
			return fmt.Sprintf("used %+v", u)
		}
		return ""
	})

	// A batch session whose command exits with 3.
	b, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "job", Type: api.TypeBatch, Command: []string{"sh", "-c", "exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Result != api.ResultUndefined {
		t.Errorf("new batch result %q", b.Result)
	}
	if c := a.next(api.CmdCreate, b.ID); strings.Join(c.Spec.Command, " ") != "sh -c exit 3" {
		t.Errorf("batch command %v", c.Spec.Command)
	}
	a.send(api.Event{Kind: api.EvStarted, SessionID: b.ID, ContainerID: "c3"})
	e.waitStatus("job", api.StatusRunning)
	three := 3
	a.send(api.Event{Kind: api.EvExited, SessionID: b.ID, ExitCode: &three, Logs: "boom\n"})
	job := e.waitStatus("job", api.StatusTerminating)
	if job.Result != api.ResultFailure || job.ExitCode == nil || *job.ExitCode != 3 || job.StatusInfo != "command exited with code 3" {
		t.Errorf("exited batch = %+v", job)
	}
	a.next(api.CmdDestroy, b.ID)
	a.send(api.Event{Kind: api.EvRemoved, SessionID: b.ID})
	e.waitStatus("job", api.StatusTerminated)
	if l, err := e.admin.SessionLogs(e.ctx, "job"); err != nil || l.Logs != "boom\n" {
		t.Errorf("logs of ended job = %+v, %v", l, err)
	}

	// The event stream saw the first session go through its lifecycle.
	seen := map[api.SessionStatus]bool{}
	timeout := time.After(20 * time.Second)
	for !seen[api.StatusTerminated] {
		select {
		case s := <-events:
			if s.ID == del.ID {
				seen[s.Status] = true
			}
		case <-timeout:
			t.Fatalf("event stream saw only %v", seen)
		}
	}
	for _, st := range []api.SessionStatus{"PENDING", "SCHEDULED", "PREPARING", "RUNNING", "TERMINATING", "TERMINATED"} {
		if !seen[st] {
			t.Errorf("event stream missed %s", st)
		}
	}
}

// subscribe reads /events as the admin and returns the sessions.
func (e *env) subscribe() <-chan api.Session {
	req, _ := http.NewRequestWithContext(e.ctx, "GET", e.srv.URL+"/api/v1/events", nil)
	if err := signing.Sign(req, adminAK, adminSK, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("subscribing: %v", err)
	}
	out := make(chan api.Session, 256)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
			if !ok {
				continue
			}
			var s api.Session
			if json.Unmarshal(data, &s) == nil {
				out <- s
			}
		}
	}()
	return out
}
