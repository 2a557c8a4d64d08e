package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/signing"
)

const (
	testAccess = "AKTEST"
	testSecret = "s3cr3t"
)

// seen is one request the test server received.
type seen struct {
	method, path, query, ctype string
	body                       []byte
}

// newServer starts a server that verifies every request's signature
// (except login), records it and answers with handler.
func newServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) (*httptest.Server, *[]seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/auth/login" {
			ak, err := signing.AccessKey(r)
			if err == nil && ak != testAccess {
				err = signing.ErrUnknownKey
			}
			if err == nil {
				err = signing.Verify(r, testSecret, time.Now())
			}
			if err != nil {
				writeProblem(w, http.StatusUnauthorized, "bad signature: "+err.Error())
				return
			}
		} else if signing.IsSigned(r) {
			writeProblem(w, http.StatusBadRequest, "login must not be signed")
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Content-Type"), body})
		mu.Unlock()
		handler(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Problem{Title: http.StatusText(status), Status: status, Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func TestEndpoints(t *testing.T) {
	ctx := context.Background()
	sess := api.Session{ID: "1a2b3c4d-0000-0000-0000-000000000000", Name: "demo", Status: api.StatusPending, StatusInfo: "enqueued"}
	tests := []struct {
		name       string
		call       func(c *Client) (any, error)
		method     string
		path       string
		query      string
		ctype      string
		wantBody   string
		answer     any
		wantResult any
	}{
		{
			name:   "login",
			call:   func(c *Client) (any, error) { return c.Login(ctx, "a@b.c", "pw") },
			method: "POST", path: "/api/v1/auth/login", ctype: "application/json",
			wantBody:   `{"email":"a@b.c","password":"pw"}`,
			answer:     api.LoginResponse{User: api.User{Email: "a@b.c", AccessKey: "AK", SecretKey: "SK"}},
			wantResult: api.LoginResponse{User: api.User{Email: "a@b.c", AccessKey: "AK", SecretKey: "SK"}},
		},
		{
			name:   "me",
			call:   func(c *Client) (any, error) { return c.Me(ctx) },
			method: "GET", path: "/api/v1/auth/me",
			answer: api.User{Email: "a@b.c"}, wantResult: api.User{Email: "a@b.c"},
		},
		{
			name: "create session",
			call: func(c *Client) (any, error) {
				return c.CreateSession(ctx, api.CreateSessionRequest{Name: "demo", Image: "img", Command: []string{"sh", "-c", "true"}})
			},
			method: "POST", path: "/api/v1/sessions", ctype: "application/json",
			wantBody: `{"name":"demo","image":"img","command":["sh","-c","true"]}`,
			answer:   sess, wantResult: sess,
		},
		{
			name:   "list sessions",
			call:   func(c *Client) (any, error) { return c.ListSessions(ctx, false) },
			method: "GET", path: "/api/v1/sessions",
			answer: []api.Session{sess}, wantResult: []api.Session{sess},
		},
		{
			name:   "list all sessions, empty",
			call:   func(c *Client) (any, error) { return c.ListSessions(ctx, true) },
			method: "GET", path: "/api/v1/sessions", query: "all=1",
			answer: []api.Session{}, wantResult: []api.Session{},
		},
		{
			name:   "get session by name with a slash",
			call:   func(c *Client) (any, error) { return c.GetSession(ctx, "a/b") },
			method: "GET", path: "/api/v1/sessions/a%2Fb",
			answer: sess, wantResult: sess,
		},
		{
			name:   "delete session",
			call:   func(c *Client) (any, error) { return c.DeleteSession(ctx, "demo") },
			method: "DELETE", path: "/api/v1/sessions/demo",
			answer: sess, wantResult: sess,
		},
		{
			name:   "logs",
			call:   func(c *Client) (any, error) { return c.SessionLogs(ctx, "demo") },
			method: "GET", path: "/api/v1/sessions/demo/logs",
			answer: api.Logs{Logs: "hi\n"}, wantResult: api.Logs{Logs: "hi\n"},
		},
		{
			name: "exec",
			call: func(c *Client) (any, error) {
				return c.Exec(ctx, "demo", api.ExecRequest{Command: []string{"ls", "-l"}})
			},
			method: "POST", path: "/api/v1/sessions/demo/exec", ctype: "application/json",
			wantBody: `{"command":["ls","-l"]}`,
			answer:   api.ExecResult{Stdout: "x", ExitCode: 2}, wantResult: api.ExecResult{Stdout: "x", ExitCode: 2},
		},
		{
			name:   "apps",
			call:   func(c *Client) (any, error) { return c.SessionApps(ctx, "demo") },
			method: "GET", path: "/api/v1/sessions/demo/apps",
			answer: []api.App{{Name: "web", URL: "http://u"}}, wantResult: []api.App{{Name: "web", URL: "http://u"}},
		},
		{
			name:   "agents",
			call:   func(c *Client) (any, error) { return c.ListAgents(ctx) },
			method: "GET", path: "/api/v1/agents",
			answer: []api.Agent{{ID: "a1"}}, wantResult: []api.Agent{{ID: "a1"}},
		},
		{
			name:   "groups",
			call:   func(c *Client) (any, error) { return c.ListGroups(ctx) },
			method: "GET", path: "/api/v1/groups",
			answer: []api.Group{{Name: "default"}}, wantResult: []api.Group{{Name: "default"}},
		},
		{
			name:   "create group",
			call:   func(c *Client) (any, error) { return c.CreateGroup(ctx, api.CreateGroupRequest{Name: "gpu"}) },
			method: "POST", path: "/api/v1/groups", ctype: "application/json", wantBody: `{"name":"gpu"}`,
			answer: api.Group{Name: "gpu"}, wantResult: api.Group{Name: "gpu"},
		},
		{
			name:   "users",
			call:   func(c *Client) (any, error) { return c.ListUsers(ctx) },
			method: "GET", path: "/api/v1/users",
			answer: []api.User{{Email: "a@b.c"}}, wantResult: []api.User{{Email: "a@b.c"}},
		},
		{
			name: "create user",
			call: func(c *Client) (any, error) {
				return c.CreateUser(ctx, api.CreateUserRequest{Email: "x@y.z", Password: "pw", Role: "admin"})
			},
			method: "POST", path: "/api/v1/users", ctype: "application/json",
			wantBody: `{"email":"x@y.z","password":"pw","role":"admin"}`,
			answer:   api.User{Email: "x@y.z", SecretKey: "SK"}, wantResult: api.User{Email: "x@y.z", SecretKey: "SK"},
		},
		{
			name:   "policies",
			call:   func(c *Client) (any, error) { return c.ListPolicies(ctx) },
			method: "GET", path: "/api/v1/policies",
			answer: []api.Policy{{Name: "fifo"}}, wantResult: []api.Policy{{Name: "fifo"}},
		},
		{
			name:   "upload policy",
			call:   func(c *Client) (any, error) { return c.UploadPolicy(ctx, "mine", "scheduler", []byte("\x00asm")) },
			method: "POST", path: "/api/v1/policies", query: "kind=scheduler&name=mine", ctype: "application/wasm",
			wantBody: "\x00asm",
			answer:   api.Policy{Name: "mine", Version: 1}, wantResult: api.Policy{Name: "mine", Version: 1},
		},
		{
			name:   "activate policy",
			call:   func(c *Client) (any, error) { return c.ActivatePolicy(ctx, "mine", "default") },
			method: "POST", path: "/api/v1/policies/mine/activate", ctype: "application/json",
			wantBody: `{"group":"default"}`,
			answer:   api.Group{Name: "default", Policy: "mine"}, wantResult: api.Group{Name: "default", Policy: "mine"},
		},
		{
			name: "dry run",
			call: func(c *Client) (any, error) {
				r, err := c.DryRun(ctx, "mine", "default")
				r.Raw = nil
				return r, err
			},
			method: "POST", path: "/api/v1/policies/mine/dryrun", ctype: "application/json",
			wantBody: `{"group":"default"}`,
			answer: map[string]any{
				"placements": []map[string]any{{"session_id": "s1", "agent_id": "a1", "request": map[string]any{"cpu": 1, "mem": 1024, "gpu": 0}}},
				"waiting":    map[string]string{"s2": "no agent has 64 CPU free"},
				"decide_ms":  0.25,
			},
			wantResult: DryRunResult{DryRun: api.DryRun{
				Placements: []api.DryRunPlacement{{SessionID: "s1", AgentID: "a1", Request: api.Resources{CPU: 1, Mem: 1024}}},
				Waiting:    map[string]string{"s2": "no agent has 64 CPU free"},
				DecideMS:   0.25,
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := newServer(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				writeJSON(w, http.StatusOK, tt.answer)
			})
			c := New(srv.URL, testAccess, testSecret)
			got, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if !reflect.DeepEqual(got, tt.wantResult) {
				t.Errorf("result = %#v, want %#v", got, tt.wantResult)
			}
			if len(*reqs) != 1 {
				t.Fatalf("server saw %d requests, want 1", len(*reqs))
			}
			r := (*reqs)[0]
			if r.method != tt.method || r.path != tt.path || r.query != tt.query || r.ctype != tt.ctype {
				t.Errorf("request = %s %s?%s (%s), want %s %s?%s (%s)", r.method, r.path, r.query, r.ctype, tt.method, tt.path, tt.query, tt.ctype)
			}
			if string(r.body) != tt.wantBody {
				t.Errorf("body = %q, want %q", r.body, tt.wantBody)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		secret     string
		wantStatus int
		wantMsg    string
	}{
		{
			name: "problem detail",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeProblem(w, http.StatusConflict, `session name "demo" is already taken`)
			},
			secret: testSecret, wantStatus: 409, wantMsg: `session name "demo" is already taken`,
		},
		{
			name: "problem without detail uses the title",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusForbidden, api.Problem{Title: "admins only", Status: 403})
			},
			secret: testSecret, wantStatus: 403, wantMsg: "admins only",
		},
		{
			name: "plain text body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "upstream down", http.StatusBadGateway)
			},
			secret: testSecret, wantStatus: 502, wantMsg: "502 Bad Gateway: upstream down",
		},
		{
			name:    "wrong secret fails the signature check",
			handler: func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, api.User{}) },
			secret:  "wrong", wantStatus: 401, wantMsg: "bad signature: signature does not match",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { tt.handler(w, r) })
			_, err := New(srv.URL, testAccess, tt.secret).Me(context.Background())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if e.Status != tt.wantStatus || e.Error() != tt.wantMsg {
				t.Errorf("err = %d %q, want %d %q", e.Status, e.Error(), tt.wantStatus, tt.wantMsg)
			}
			if !IsStatus(err, tt.wantStatus) {
				t.Errorf("IsStatus(err, %d) = false", tt.wantStatus)
			}
		})
	}
}

func TestNoCredentials(t *testing.T) {
	_, err := New("http://127.0.0.1:1", "", "").ListSessions(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "berth login") {
		t.Fatalf("err = %v, want a hint to log in", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	_, err := New(srv.URL, testAccess, testSecret).ListAgents(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "reaching "+srv.URL+": ") {
		t.Fatalf("err = %v, want it to name the endpoint", err)
	}
}

func TestEndpointWithAPIPrefix(t *testing.T) {
	srv, reqs := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { writeJSON(w, 200, []api.Agent{}) })
	for _, ep := range []string{srv.URL, srv.URL + "/", srv.URL + "/api/v1", srv.URL + "/api/v1/"} {
		if _, err := New(ep, testAccess, testSecret).ListAgents(context.Background()); err != nil {
			t.Fatalf("endpoint %s: %v", ep, err)
		}
	}
	for _, r := range *reqs {
		if r.path != "/api/v1/agents" {
			t.Errorf("path = %s", r.path)
		}
	}
}

func TestWaitSession(t *testing.T) {
	steps := []api.Session{
		{ID: "s1", Status: api.StatusPending, StatusInfo: "enqueued"},
		{ID: "s1", Status: api.StatusPending, StatusInfo: "enqueued"},
		{ID: "s1", Status: api.StatusScheduled, StatusInfo: "placed on agent a1"},
		{ID: "s1", Status: api.StatusRunning},
		{ID: "s1", Status: api.StatusRunning},
	}
	tests := []struct {
		name        string
		until       func(api.Session) bool
		steps       []api.Session
		wantFinal   api.SessionStatus
		wantChanges []api.SessionStatus
	}{
		{
			name:        "until running",
			until:       func(s api.Session) bool { return s.Status == api.StatusRunning },
			steps:       steps,
			wantFinal:   api.StatusRunning,
			wantChanges: []api.SessionStatus{api.StatusPending, api.StatusScheduled, api.StatusRunning},
		},
		{
			name:  "stops at a terminal status",
			until: func(s api.Session) bool { return false },
			steps: []api.Session{
				{ID: "s1", Status: api.StatusPreparing},
				{ID: "s1", Status: api.StatusError, StatusInfo: "image localhost/nope not found"},
			},
			wantFinal:   api.StatusError,
			wantChanges: []api.SessionStatus{api.StatusPreparing, api.StatusError},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			i := 0
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				mu.Lock()
				defer mu.Unlock()
				s := tt.steps[min(i, len(tt.steps)-1)]
				i++
				writeJSON(w, 200, s)
			})
			c := New(srv.URL, testAccess, testSecret, WithPollInterval(time.Millisecond))
			var changes []api.SessionStatus
			final, err := c.WaitSession(context.Background(), "s1", tt.until, func(s api.Session) { changes = append(changes, s.Status) })
			if err != nil {
				t.Fatal(err)
			}
			if final.Status != tt.wantFinal {
				t.Errorf("final = %s, want %s", final.Status, tt.wantFinal)
			}
			if !reflect.DeepEqual(changes, tt.wantChanges) {
				t.Errorf("changes = %v, want %v", changes, tt.wantChanges)
			}
		})
	}
}

func TestWaitSessionCancel(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, 200, api.Session{ID: "s1", Status: api.StatusPending})
	})
	ctx, cancel := context.WithCancel(context.Background())
	c := New(srv.URL, testAccess, testSecret, WithPollInterval(time.Millisecond))
	_, err := c.WaitSession(ctx, "s1", nil, func(api.Session) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
