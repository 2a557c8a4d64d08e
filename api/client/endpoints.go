package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/berth-dev/berth/api"
)

// Login exchanges an email and password for the user and a keypair
// (POST /auth/login). It is the one unsigned call.
func (c *Client) Login(ctx context.Context, email, password string) (api.LoginResponse, error) {
	var out api.LoginResponse
	b, err := jsonBody(api.LoginRequest{Email: email, Password: password})
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: http.MethodPost, path: "/auth/login", body: b, ctype: "application/json"}, &out)
	return out, err
}

// Me returns the user the keypair belongs to (GET /auth/me).
func (c *Client) Me(ctx context.Context) (api.User, error) {
	var out api.User
	return out, c.get(ctx, "/auth/me", nil, &out)
}

// CreateSession enqueues a session (POST /sessions).
func (c *Client) CreateSession(ctx context.Context, req api.CreateSessionRequest) (api.Session, error) {
	var out api.Session
	return out, c.send(ctx, http.MethodPost, "/sessions", req, &out)
}

// ListSessions lists the caller's sessions (admins: everyone's); all
// includes ended ones (GET /sessions).
func (c *Client) ListSessions(ctx context.Context, all bool) ([]api.Session, error) {
	var q url.Values
	if all {
		q = url.Values{"all": {"1"}}
	}
	out := []api.Session{}
	return out, c.get(ctx, "/sessions", q, &out)
}

// GetSession returns one session with its status history
// (GET /sessions/{ref}); ref is an ID, an 8-hex ID prefix or a name.
func (c *Client) GetSession(ctx context.Context, sessionRef string) (api.Session, error) {
	var out api.Session
	return out, c.get(ctx, "/sessions/"+ref(sessionRef), nil, &out)
}

// DeleteSession terminates a session, or cancels it while it is pending
// (DELETE /sessions/{ref}).
func (c *Client) DeleteSession(ctx context.Context, sessionRef string) (api.Session, error) {
	var out api.Session
	return out, c.send(ctx, http.MethodDelete, "/sessions/"+ref(sessionRef), nil, &out)
}

// SessionLogs returns the container's output (GET /sessions/{ref}/logs).
func (c *Client) SessionLogs(ctx context.Context, sessionRef string) (api.Logs, error) {
	var out api.Logs
	return out, c.get(ctx, "/sessions/"+ref(sessionRef)+"/logs", nil, &out)
}

// Exec runs a command in a session and returns its output and exit code
// (POST /sessions/{ref}/exec). A non-zero exit code is not an error.
func (c *Client) Exec(ctx context.Context, sessionRef string, req api.ExecRequest) (api.ExecResult, error) {
	var out api.ExecResult
	return out, c.send(ctx, http.MethodPost, "/sessions/"+ref(sessionRef)+"/exec", req, &out)
}

// SessionApps lists a session's apps with fresh open URLs
// (GET /sessions/{ref}/apps).
func (c *Client) SessionApps(ctx context.Context, sessionRef string) ([]api.App, error) {
	out := []api.App{}
	return out, c.get(ctx, "/sessions/"+ref(sessionRef)+"/apps", nil, &out)
}

// ListAgents lists the agents (GET /agents).
func (c *Client) ListAgents(ctx context.Context) ([]api.Agent, error) {
	out := []api.Agent{}
	return out, c.get(ctx, "/agents", nil, &out)
}

// ListGroups lists the resource groups (GET /groups).
func (c *Client) ListGroups(ctx context.Context) ([]api.Group, error) {
	out := []api.Group{}
	return out, c.get(ctx, "/groups", nil, &out)
}

// CreateGroup creates a resource group (POST /groups; admin).
func (c *Client) CreateGroup(ctx context.Context, req api.CreateGroupRequest) (api.Group, error) {
	var out api.Group
	return out, c.send(ctx, http.MethodPost, "/groups", req, &out)
}

// ListUsers lists the accounts (GET /users; admin).
func (c *Client) ListUsers(ctx context.Context) ([]api.User, error) {
	out := []api.User{}
	return out, c.get(ctx, "/users", nil, &out)
}

// CreateUser creates an account with a new keypair (POST /users; admin).
func (c *Client) CreateUser(ctx context.Context, req api.CreateUserRequest) (api.User, error) {
	var out api.User
	return out, c.send(ctx, http.MethodPost, "/users", req, &out)
}

// ListPolicies lists the stored Wasm policies (GET /policies).
func (c *Client) ListPolicies(ctx context.Context) ([]api.Policy, error) {
	out := []api.Policy{}
	return out, c.get(ctx, "/policies", nil, &out)
}

// UploadPolicy validates and stores a Wasm module as policy name of the
// given kind (api.PolicyScheduler or api.PolicyAuth) (POST /policies; admin).
func (c *Client) UploadPolicy(ctx context.Context, name, kind string, wasm []byte) (api.Policy, error) {
	var out api.Policy
	if wasm == nil {
		wasm = []byte{}
	}
	err := c.do(ctx, request{
		method: http.MethodPost,
		path:   "/policies",
		query:  url.Values{"name": {name}, "kind": {kind}},
		body:   wasm,
		ctype:  "application/wasm",
		signed: true,
	}, &out)
	return out, err
}

// groupBody is the body of the activate and dryrun calls.
type groupBody struct {
	Group string `json:"group"`
}

// ActivatePolicy makes policy name the active one of group
// (POST /policies/{name}/activate; admin).
func (c *Client) ActivatePolicy(ctx context.Context, name, group string) (api.Group, error) {
	var out api.Group
	return out, c.send(ctx, http.MethodPost, "/policies/"+ref(name)+"/activate", groupBody{group}, &out)
}

// DryRunResult is the answer of a policy dry run, with the raw JSON the
// API sent.
type DryRunResult struct {
	api.DryRun
	// Raw is the answer exactly as the API sent it.
	Raw json.RawMessage `json:"-"`
}

// DryRun runs policy name once on group's live state without committing
// (POST /policies/{name}/dryrun; admin).
func (c *Client) DryRun(ctx context.Context, name, group string) (DryRunResult, error) {
	var out DryRunResult
	var raw json.RawMessage
	if err := c.send(ctx, http.MethodPost, "/policies/"+ref(name)+"/dryrun", groupBody{group}, &raw); err != nil {
		return out, err
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return out, fmt.Errorf("decoding dry run answer: %w", err)
		}
	}
	out.Raw = raw
	return out, nil
}

// WaitSession polls session ref until until returns true or the session
// reaches a terminal status (TERMINATED, CANCELLED, ERROR), calling
// onChange (when not nil) with the first state and then whenever the
// status, its info or the history changes. It returns the last state seen.
// A nil until waits for a terminal status.
func (c *Client) WaitSession(ctx context.Context, sessionRef string, until func(api.Session) bool, onChange func(api.Session)) (api.Session, error) {
	var last api.Session
	first := true
	for {
		s, err := c.GetSession(ctx, sessionRef)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return last, err
			}
			return last, fmt.Errorf("waiting for session %s: %w", sessionRef, err)
		}
		changed := first || s.Status != last.Status || s.StatusInfo != last.StatusInfo || len(s.History) != len(last.History)
		first = false
		last = s
		if changed && onChange != nil {
			onChange(s)
		}
		if (until != nil && until(s)) || s.Status.Terminal() {
			return s, nil
		}
		t := time.NewTimer(c.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, ctx.Err()
		case <-t.C:
		}
	}
}

// UserPolicy returns the resource policy (limits) of the user with email
// (GET /users/{email}/policy; admin).
func (c *Client) UserPolicy(ctx context.Context, email string) (api.ResourcePolicy, error) {
	var out api.ResourcePolicy
	return out, c.get(ctx, "/users/"+ref(email)+"/policy", nil, &out)
}

// SetUserPolicy sets the limits of the user's resource policy
// (PUT /users/{email}/policy; admin).
func (c *Client) SetUserPolicy(ctx context.Context, email string, p api.ResourcePolicy) (api.ResourcePolicy, error) {
	var out api.ResourcePolicy
	return out, c.send(ctx, http.MethodPut, "/users/"+ref(email)+"/policy", p, &out)
}
