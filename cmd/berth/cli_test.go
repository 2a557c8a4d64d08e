package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/signing"
)

const (
	fakeAccess = "AKfake"
	fakeSecret = "SKfake"
)

// fakeAPI is an in-memory Berth REST API that checks request signatures.
// Each GET of a session moves it one step along its lifecycle.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	sessions   []*api.Session
	lastCreate api.CreateSessionRequest
	lastExec   api.ExecRequest
	uploaded   []byte
	policy     api.ResourcePolicy
	lastPolicy *api.ResourcePolicy
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/login", f.login)
	mux.HandleFunc("GET /api/v1/sessions", f.listSessions)
	mux.HandleFunc("POST /api/v1/sessions", f.createSession)
	mux.HandleFunc("GET /api/v1/sessions/{ref}", f.getSession)
	mux.HandleFunc("DELETE /api/v1/sessions/{ref}", f.deleteSession)
	mux.HandleFunc("GET /api/v1/sessions/{ref}/logs", f.logs)
	mux.HandleFunc("POST /api/v1/sessions/{ref}/exec", f.exec)
	mux.HandleFunc("GET /api/v1/sessions/{ref}/apps", f.apps)
	mux.HandleFunc("GET /api/v1/agents", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, []api.Agent{{ID: "a1", Group: "default", Status: api.AgentAlive, Address: "127.0.0.1",
			Capacity: api.Resources{CPU: 8, Mem: 16 << 30}, Used: api.Resources{CPU: 0.5, Mem: 256 << 20}, Sessions: 1, LastSeen: time.Now()}})
	})
	mux.HandleFunc("GET /api/v1/groups", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, []api.Group{{Name: "default", Policy: "fifo", Agents: 1}})
	})
	mux.HandleFunc("POST /api/v1/groups", func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateGroupRequest
		json.NewDecoder(r.Body).Decode(&req)
		answer(w, 201, api.Group{Name: req.Name, Description: req.Description, Policy: "fifo"})
	})
	mux.HandleFunc("GET /api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, []api.User{{ID: "u1", Email: "admin@x", Role: "admin", AccessKey: fakeAccess}})
	})
	mux.HandleFunc("POST /api/v1/users", func(w http.ResponseWriter, r *http.Request) {
		var req api.CreateUserRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Password == "" {
			problem(w, 422, "password must not be empty")
			return
		}
		answer(w, 201, api.User{ID: "u2", Email: req.Email, Role: req.Role, AccessKey: "AKnew", SecretKey: "SKnew"})
	})
	mux.HandleFunc("GET /api/v1/users/{email}/policy", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		answer(w, 200, f.policy)
	})
	mux.HandleFunc("PUT /api/v1/users/{email}/policy", func(w http.ResponseWriter, r *http.Request) {
		var p api.ResourcePolicy
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			problem(w, 400, err.Error())
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		sent := p
		f.lastPolicy = &sent
		if p.Name == "" {
			p.Name = "user:" + r.PathValue("email")
		}
		f.policy = p
		answer(w, 200, p)
	})
	mux.HandleFunc("GET /api/v1/policies", func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, []api.Policy{{Name: "fifo", Kind: "scheduler", Version: 1, Builtin: true, Groups: []string{"default"}}})
	})
	mux.HandleFunc("POST /api/v1/policies", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.uploaded = b
		f.mu.Unlock()
		if !bytes.HasPrefix(b, []byte("\x00asm")) {
			problem(w, 422, "policy is not a WebAssembly module")
			return
		}
		answer(w, 201, api.Policy{Name: r.URL.Query().Get("name"), Kind: r.URL.Query().Get("kind"), Version: 1, Size: len(b)})
	})
	mux.HandleFunc("POST /api/v1/policies/{name}/activate", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ Group string }
		json.NewDecoder(r.Body).Decode(&req)
		answer(w, 200, api.Group{Name: req.Group, Policy: r.PathValue("name")})
	})
	mux.HandleFunc("POST /api/v1/policies/{name}/dryrun", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "broken" {
			io.WriteString(w, `{"placements":null,"waiting":{},"decide_ms":0,"policy":"broken","error":"deadline exceeded"}`)
			return
		}
		io.WriteString(w, `{"placements":[{"session_id":"s1","agent_id":"a1","request":{"cpu":1,"mem":1024,"gpu":0}}],"waiting":{"s2":"no agent has 64 CPU free"},"decide_ms":0.3}`)
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/auth/login" {
			ak, err := signing.AccessKey(r)
			if err == nil && ak != fakeAccess {
				err = signing.ErrUnknownKey
			}
			if err == nil {
				err = signing.Verify(r, fakeSecret, time.Now())
			}
			if err != nil {
				problem(w, 401, "authentication failed: "+err.Error())
				return
			}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(api.Problem{Title: http.StatusText(status), Status: status, Detail: detail})
}

func (f *fakeAPI) login(w http.ResponseWriter, r *http.Request) {
	var req api.LoginRequest
	json.NewDecoder(r.Body).Decode(&req)
	if req.Email != "admin@x" || req.Password != "pw" {
		problem(w, 401, "invalid email or password")
		return
	}
	answer(w, 200, api.LoginResponse{User: api.User{ID: "u1", Email: req.Email, Role: "admin", AccessKey: fakeAccess, SecretKey: fakeSecret}})
}

// add stores a session as the API would create it.
func (f *fakeAPI) add(req api.CreateSessionRequest) *api.Session {
	now := time.Now()
	s := &api.Session{
		ID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", len(f.sessions)+0x1a2b3c4d), Name: req.Name,
		Owner: "admin@x", Image: req.Image, Type: req.Type, Group: "default",
		Status: api.StatusPending, StatusInfo: "enqueued", Resources: api.DefaultResources,
		Env: req.Env, Command: req.Command, Mounts: req.Mounts, CreatedAt: now,
		History: []api.StatusChange{{Status: api.StatusPending, Info: "enqueued", At: now}},
	}
	if s.Type == "" {
		s.Type = api.TypeInteractive
	}
	if req.Resources != nil {
		s.Resources = *req.Resources
	}
	f.sessions = append(f.sessions, s)
	return s
}

func (f *fakeAPI) find(ref string) *api.Session {
	for i := len(f.sessions) - 1; i >= 0; i-- {
		if s := f.sessions[i]; s.Name == ref || s.ID == ref || api.ShortID(s.ID) == ref {
			return s
		}
	}
	return nil
}

// step moves s one transition along its lifecycle.
func step(s *api.Session) {
	next := func(st api.SessionStatus, info string) {
		s.Status, s.StatusInfo = st, info
		s.History = append(s.History, api.StatusChange{Status: st, Info: info, At: time.Now()})
	}
	switch s.Status {
	case api.StatusPending:
		next(api.StatusScheduled, "placed on agent a1 by policy fifo")
		s.Agent = "a1"
	case api.StatusScheduled:
		next(api.StatusPreparing, "creating container")
	case api.StatusPreparing:
		switch {
		case s.Image == "localhost/nope":
			next(api.StatusError, "image localhost/nope not found")
		default:
			next(api.StatusRunning, "")
		}
	case api.StatusRunning:
		if s.Type == api.TypeBatch {
			code := 0
			s.ExitCode, s.Result = &code, api.ResultSuccess
			if len(s.Command) > 0 && s.Command[0] == "false" {
				code = 1
				s.Result = api.ResultFailure
			}
			next(api.StatusTerminated, fmt.Sprintf("command exited with code %d", code))
		}
	case api.StatusTerminating:
		next(api.StatusTerminated, "removed")
	}
}

func (f *fakeAPI) listSessions(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []api.Session{}
	for _, s := range f.sessions {
		c := *s
		c.History = nil
		out = append(out, c)
	}
	answer(w, 200, out)
}

func (f *fakeAPI) createSession(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var req api.CreateSessionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		problem(w, 400, "bad JSON: "+err.Error())
		return
	}
	f.lastCreate = req
	if s := f.find(req.Name); s != nil && req.Name != "" && !s.Status.Terminal() {
		problem(w, 409, fmt.Sprintf("session name %q is already taken", req.Name))
		return
	}
	answer(w, 201, f.add(req))
}

// session looks up {ref} or answers 404.
func (f *fakeAPI) session(w http.ResponseWriter, r *http.Request) *api.Session {
	s := f.find(r.PathValue("ref"))
	if s == nil {
		problem(w, 404, fmt.Sprintf("session %q not found", r.PathValue("ref")))
	}
	return s
}

func (f *fakeAPI) getSession(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.session(w, r); s != nil {
		step(s)
		answer(w, 200, s)
	}
}

func (f *fakeAPI) deleteSession(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.session(w, r); s != nil {
		s.Status, s.StatusInfo = api.StatusTerminating, "terminating on request"
		s.History = append(s.History, api.StatusChange{Status: s.Status, Info: s.StatusInfo, At: time.Now()})
		answer(w, 202, s)
	}
}

func (f *fakeAPI) logs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.session(w, r); s != nil {
		answer(w, 200, api.Logs{Logs: "hello from " + s.Name + "\n"})
	}
}

func (f *fakeAPI) exec(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.session(w, r)
	if s == nil {
		return
	}
	var req api.ExecRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.lastExec = req
	res := api.ExecResult{Stdout: strings.Join(req.Command, " ") + "\n"}
	if req.Command[0] == "fail" {
		res = api.ExecResult{Stdout: "out\n", Stderr: "err\n", ExitCode: 3}
	}
	answer(w, 200, res)
}

func (f *fakeAPI) apps(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.session(w, r); s != nil {
		host := api.HostLabel(s.Name, s.ID, "web")
		answer(w, 200, []api.App{{Name: "web", Protocol: "http", Port: 8080,
			URL:     "http://" + host + ".apps.localhost:8080/",
			OpenURL: "http://" + host + ".apps.localhost:8080/_berth/open?token=t"}})
	}
}

// result is one CLI run.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in-process against f with credentials in the
// environment and a private config file.
func runCLI(t *testing.T, f *fakeAPI, stdin string, args ...string) result {
	t.Helper()
	env := map[string]string{
		"BERTH_ENDPOINT":   f.srv.URL,
		"BERTH_ACCESS_KEY": fakeAccess,
		"BERTH_SECRET_KEY": fakeSecret,
		"BERTH_CONFIG":     filepath.Join(t.TempDir(), "config.json"),
	}
	return runCLIEnv(t, env, stdin, args...)
}

func runCLIEnv(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return env[k] }, poll: 2 * time.Millisecond}
	code := c.run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

// decodeOnly decodes stdout as exactly one JSON value into v.
func decodeOnly(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the expected JSON: %v\n%s", err, stdout)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); strings.TrimSpace(string(rest)) != "" || dec.More() {
		t.Fatalf("stdout has more than one JSON value:\n%s", stdout)
	}
}

func TestJSONOutput(t *testing.T) {
	f := newFakeAPI(t)
	f.add(api.CreateSessionRequest{Name: "demo", Image: "img"})
	wasm := filepath.Join(t.TempDir(), "mine.wasm")
	os.WriteFile(wasm, []byte("\x00asm\x01\x00\x00\x00"), 0o644)

	tests := []struct {
		args  []string
		into  func() any
		check func(t *testing.T, v any)
	}{
		{args: []string{"session", "ls", "--json"}, into: func() any { return &[]api.Session{} }},
		{args: []string{"--json", "session", "info", "demo"}, into: func() any { return &api.Session{} }},
		{args: []string{"session", "info", "demo", "--json"}, into: func() any { return &api.Session{} },
			check: func(t *testing.T, v any) {
				if s := v.(*api.Session); s.Name != "demo" || len(s.History) == 0 {
					t.Errorf("info = %+v, want demo with history", s)
				}
			}},
		{args: []string{"session", "create", "--image", "img", "--name", "web", "--json"}, into: func() any { return &api.Session{} }},
		{args: []string{"session", "logs", "demo", "--json"}, into: func() any { return &api.Logs{} }},
		{args: []string{"session", "apps", "--json", "demo"}, into: func() any { return &[]api.App{} },
			check: func(t *testing.T, v any) {
				if apps := *v.(*[]api.App); len(apps) != 1 || apps[0].OpenURL == "" {
					t.Errorf("apps = %+v", apps)
				}
			}},
		{args: []string{"agent", "ls", "--json"}, into: func() any { return &[]api.Agent{} }},
		{args: []string{"group", "ls", "--json"}, into: func() any { return &[]api.Group{} }},
		{args: []string{"group", "create", "gpu", "--json", "--description", "GPU boxes"}, into: func() any { return &api.Group{} }},
		{args: []string{"user", "ls", "--json"}, into: func() any { return &[]api.User{} }},
		{args: []string{"user", "create", "u@x", "--password", "pw", "--json"}, into: func() any { return &api.User{} },
			check: func(t *testing.T, v any) {
				if u := v.(*api.User); u.SecretKey == "" || u.Role != "user" {
					t.Errorf("user = %+v, want role user with a secret key", u)
				}
			}},
		{args: []string{"policy", "ls", "--json"}, into: func() any { return &[]api.Policy{} }},
		{args: []string{"policy", "upload", wasm, "--kind", "scheduler", "--json"}, into: func() any { return &api.Policy{} },
			check: func(t *testing.T, v any) {
				if p := v.(*api.Policy); p.Name != "mine" || p.Size != 8 {
					t.Errorf("policy = %+v, want name from the file and size 8", p)
				}
			}},
		{args: []string{"policy", "activate", "mine", "--group", "default", "--json"}, into: func() any { return &api.Group{} }},
		{args: []string{"policy", "dryrun", "mine", "--group", "default", "--json"}, into: func() any { return &map[string]any{} },
			check: func(t *testing.T, v any) {
				if m := *v.(*map[string]any); m["decide_ms"] != 0.3 || m["placements"] == nil {
					t.Errorf("dryrun = %v", m)
				}
			}},
		{args: []string{"session", "rm", "demo", "--json"}, into: func() any { return &api.Session{} },
			check: func(t *testing.T, v any) {
				if s := v.(*api.Session); s.Status != api.StatusTerminating {
					t.Errorf("rm status = %s", s.Status)
				}
			}},
		{args: []string{"version", "--json"}, into: func() any { return &map[string]string{} }},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, f, "", tt.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("code %d, stderr %q", r.code, r.stderr)
			}
			v := tt.into()
			decodeOnly(t, r.stdout, v)
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}

func TestHumanOutput(t *testing.T) {
	f := newFakeAPI(t)
	f.add(api.CreateSessionRequest{Name: "demo", Image: "img"})
	tests := []struct {
		args []string
		want []string
	}{
		{args: []string{"session", "ls"}, want: []string{"ID", "NAME", "STATUS", "demo", "1a2b3c4d"}},
		{args: []string{"session", "info", "demo"}, want: []string{"Name:", "demo", "History:", "PENDING", "enqueued", "SCHEDULED", "placed on agent a1"}},
		{args: []string{"session", "apps", "demo"}, want: []string{"NAME", "PROTOCOL", "URL", "OPEN_URL", "demo-1a2b3c4d-web.apps.localhost"}},
		{args: []string{"session", "logs", "demo"}, want: []string{"hello from demo\n"}},
		{args: []string{"agent", "ls"}, want: []string{"a1", "ALIVE", "0.5/8", "256 MiB/16 GiB"}},
		{args: []string{"policy", "dryrun", "fifo"}, want: []string{"1 placed, 1 waiting", "s1", "a1", "no agent has 64 CPU free"}},
		{args: []string{"user", "create", "u@x", "--password", "pw", "--role", "admin"}, want: []string{"Access key:", "AKnew", "Secret key:", "SKnew"}},
		{args: []string{"help"}, want: []string{"session create", "policy dryrun", "agent ls"}},
		{args: []string{"session", "create", "-h"}, want: []string{"usage: berth session create", "-mem"}},
		{args: []string{"help", "session"}, want: []string{"berth session exec"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, f, "", tt.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("code %d, stderr %q", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestFailures(t *testing.T) {
	f := newFakeAPI(t)
	f.add(api.CreateSessionRequest{Name: "demo", Image: "img"})
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{args: []string{"session", "create", "--image", "img", "--name", "demo"}, wantCode: 1, wantErr: `berth: session name "demo" is already taken`},
		{args: []string{"session", "create", "--image", "img", "--name", "demo", "--json"}, wantCode: 1, wantErr: `berth: session name "demo" is already taken`},
		{args: []string{"session", "info", "nope", "--json"}, wantCode: 1, wantErr: `berth: session "nope" not found`},
		{args: []string{"policy", "upload", "/nonexistent.wasm"}, wantCode: 1, wantErr: "berth: reading policy: open /nonexistent.wasm: no such file or directory"},
		{args: []string{"session", "create", "--name", "x"}, wantCode: 2, wantErr: "berth: session create: --image is required (see 'berth session create -h')"},
		{args: []string{"session", "create", "--image", "i", "--mem", "lots"}, wantCode: 2, wantErr: `berth: session create: --mem: invalid size "lots": want bytes or a number with k, m, g or t (e.g. 512m, 1.5g) (see 'berth session create -h')`},
		{args: []string{"session", "create", "--image", "i", "--env", "NOEQ"}, wantCode: 2, wantErr: `berth: session create: --env "NOEQ": want KEY=VALUE (see 'berth session create -h')`},
		{args: []string{"session", "create", "--image", "i", "--type", "weird"}, wantCode: 2, wantErr: `berth: session create: --type "weird": want interactive, batch or inference (see 'berth session create -h')`},
		{args: []string{"session", "rm", "demo", "--bogus"}, wantCode: 2, wantErr: "berth: session rm: flag provided but not defined: -bogus (see 'berth session rm -h')"},
		{args: []string{"session", "rm"}, wantCode: 2, wantErr: "berth: session rm: missing session (name, ID or ID prefix) (see 'berth session rm -h')"},
		{args: []string{"session", "exec", "demo"}, wantCode: 2, wantErr: "berth: session exec: missing command: berth session exec S -- CMD [ARGS...] (see 'berth session exec -h')"},
		{args: []string{"session"}, wantCode: 2, wantErr: "berth: session: missing subcommand: create, ls, info, rm, logs, exec, apps (see 'berth session -h')"},
		{args: []string{"frobnicate"}, wantCode: 2, wantErr: `berth: unknown command "frobnicate" (see 'berth help')`},
		{args: []string{"folder", "create", "data"}, wantCode: 1, wantErr: "berth: folder create: storage folders are not implemented yet"},
		{args: []string{"folder", "download", "data", "a", "b", "--json"}, wantCode: 1, wantErr: "berth: folder download: storage folders are not implemented yet"},
		{args: []string{"policy", "dryrun", "broken"}, wantCode: 1, wantErr: "berth: policy broken failed on group default: deadline exceeded"},
		{args: []string{"user", "create", "u@x"}, wantCode: 2, wantErr: "berth: user create: --password is required (see 'berth user create -h')"},
		{args: []string{"session", "ls", "--secret-key", "wrong"}, wantCode: 1, wantErr: "berth: authentication failed: signature does not match"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, f, "", tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("code = %d, want %d", r.code, tt.wantCode)
			}
			if r.stderr != tt.wantErr+"\n" {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.wantErr+"\n")
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

func TestNoCredentials(t *testing.T) {
	f := newFakeAPI(t)
	env := map[string]string{"BERTH_ENDPOINT": f.srv.URL, "BERTH_CONFIG": filepath.Join(t.TempDir(), "none.json")}
	r := runCLIEnv(t, env, "", "session", "ls")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "berth: no credentials: run `berth login`") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("got %+v", r)
	}
}

func TestExec(t *testing.T) {
	f := newFakeAPI(t)
	f.add(api.CreateSessionRequest{Name: "demo", Image: "img"})
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		wantCmd    []string
	}{
		{name: "ok", args: []string{"session", "exec", "demo", "--", "echo", "-n", "hi"}, wantStdout: "echo -n hi\n", wantCmd: []string{"echo", "-n", "hi"}},
		{name: "remote exit code", args: []string{"session", "exec", "demo", "--", "fail"}, wantCode: 3, wantStdout: "out\n", wantStderr: "err\n", wantCmd: []string{"fail"}},
		{name: "flags after --", args: []string{"session", "exec", "demo", "--timeout", "5", "--", "ls", "--json"}, wantStdout: "ls --json\n", wantCmd: []string{"ls", "--json"}},
		{name: "no --", args: []string{"session", "exec", "demo", "uname"}, wantStdout: "uname\n", wantCmd: []string{"uname"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, f, "", tt.args...)
			if r.code != tt.wantCode || r.stdout != tt.wantStdout || r.stderr != tt.wantStderr {
				t.Errorf("got %+v, want code %d stdout %q stderr %q", r, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if !reflect.DeepEqual(f.lastExec.Command, tt.wantCmd) {
				t.Errorf("command sent = %q, want %q", f.lastExec.Command, tt.wantCmd)
			}
		})
	}
	t.Run("json keeps the exit code", func(t *testing.T) {
		r := runCLI(t, f, "", "session", "exec", "demo", "--json", "--", "fail")
		if r.code != 3 || r.stderr != "" {
			t.Fatalf("got %+v", r)
		}
		var res api.ExecResult
		decodeOnly(t, r.stdout, &res)
		if res != (api.ExecResult{Stdout: "out\n", Stderr: "err\n", ExitCode: 3}) {
			t.Errorf("result = %+v", res)
		}
	})
}

func TestCreateRequest(t *testing.T) {
	f := newFakeAPI(t)
	r := runCLI(t, f, "", "session", "create", "--image", "localhost/py", "--name", "job", "--type", "batch",
		"--cpu", "2", "--mem", "1.5g", "--env", "A=1", "--env", "B=x=y", "--mount", "data:/data", "--group", "gpu",
		"--", "python", "-c", "print(1)")
	if r.code != 0 {
		t.Fatalf("got %+v", r)
	}
	want := api.CreateSessionRequest{
		Name: "job", Image: "localhost/py", Type: api.TypeBatch, Group: "gpu",
		Resources: &api.Resources{CPU: 2, Mem: 3 << 29},
		Env:       map[string]string{"A": "1", "B": "x=y"},
		Command:   []string{"python", "-c", "print(1)"},
		Mounts:    []string{"data:/data"},
	}
	if !reflect.DeepEqual(f.lastCreate, want) {
		t.Errorf("request = %+v, want %+v", f.lastCreate, want)
	}
	if !strings.HasPrefix(r.stdout, "Session job (") || !strings.Contains(r.stdout, "PENDING: enqueued") {
		t.Errorf("stdout = %q", r.stdout)
	}
}

func TestCreateWait(t *testing.T) {
	f := newFakeAPI(t)
	t.Run("human", func(t *testing.T) {
		r := runCLI(t, f, "", "session", "create", "--image", "img", "--name", "w1", "--wait")
		if r.code != 0 {
			t.Fatalf("got %+v", r)
		}
		wantErr := "PENDING: enqueued\nSCHEDULED: placed on agent a1 by policy fifo\nPREPARING: creating container\nRUNNING\n"
		if r.stderr != wantErr {
			t.Errorf("stderr = %q, want %q", r.stderr, wantErr)
		}
		if !strings.Contains(r.stdout, "RUNNING") {
			t.Errorf("stdout = %q", r.stdout)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := runCLI(t, f, "", "session", "create", "--image", "img", "--name", "w2", "--wait", "--json")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("got %+v", r)
		}
		var s api.Session
		decodeOnly(t, r.stdout, &s)
		if s.Status != api.StatusRunning {
			t.Errorf("status = %s", s.Status)
		}
	})
	t.Run("error", func(t *testing.T) {
		r := runCLI(t, f, "", "session", "create", "--image", "localhost/nope", "--name", "w3", "--wait", "--json")
		if r.code != 1 {
			t.Errorf("code = %d", r.code)
		}
		var s api.Session
		decodeOnly(t, r.stdout, &s)
		if s.Status != api.StatusError || !strings.HasSuffix(r.stderr, "ERROR: image localhost/nope not found\n") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("status %s, stderr %q", s.Status, r.stderr)
		}
	})
	t.Run("batch runs to the end", func(t *testing.T) {
		r := runCLI(t, f, "", "session", "create", "--image", "img", "--name", "b1", "--type", "batch", "--wait", "--", "true")
		if r.code != 0 || !strings.Contains(r.stderr, "TERMINATED: command exited with code 0") {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("failed batch", func(t *testing.T) {
		r := runCLI(t, f, "", "session", "create", "--image", "img", "--name", "b2", "--type", "batch", "--wait", "--", "false")
		if r.code != 1 || !strings.HasSuffix(r.stderr, "batch command failed with exit code 1\n") {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("rm --wait", func(t *testing.T) {
		r := runCLI(t, f, "", "session", "rm", "w1", "--wait", "--json")
		var s api.Session
		decodeOnly(t, r.stdout, &s)
		if r.code != 0 || s.Status != api.StatusTerminated {
			t.Errorf("code %d, status %s", r.code, s.Status)
		}
	})
}

func TestLogin(t *testing.T) {
	f := newFakeAPI(t)
	cfg := filepath.Join(t.TempDir(), "sub", "config.json")
	env := map[string]string{"BERTH_ENDPOINT": f.srv.URL, "BERTH_CONFIG": cfg}

	r := runCLIEnv(t, env, "wrong\n", "login", "--email", "admin@x")
	if r.code != 1 || r.stderr != "berth: invalid email or password\n" {
		t.Fatalf("bad password: got %+v", r)
	}
	r = runCLIEnv(t, env, "", "login")
	if r.code != 2 || !strings.Contains(r.stderr, "--email is required") {
		t.Fatalf("no email: got %+v", r)
	}

	r = runCLIEnv(t, env, "pw\n", "login", "--email", "admin@x")
	if r.code != 0 || !strings.Contains(r.stdout, "Logged in") {
		t.Fatalf("login: got %+v", r)
	}
	fi, err := os.Stat(cfg)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config: %v, %v", fi, err)
	}
	stored, err := loadCLIConfig(cfg)
	if err != nil || stored != (cliConfig{Endpoint: f.srv.URL, Email: "admin@x", AccessKey: fakeAccess, SecretKey: fakeSecret}) {
		t.Fatalf("stored config = %+v, %v", stored, err)
	}

	// Now the config file alone carries the endpoint and the keypair.
	r = runCLIEnv(t, map[string]string{"BERTH_CONFIG": cfg}, "", "session", "ls", "--json")
	if r.code != 0 {
		t.Fatalf("ls with the stored keypair: %+v", r)
	}
	// And --json login prints the API's answer.
	r = runCLIEnv(t, env, "", "login", "--email", "admin@x", "--password", "pw", "--json")
	var resp api.LoginResponse
	decodeOnly(t, r.stdout, &resp)
	if r.code != 0 || resp.User.AccessKey != fakeAccess {
		t.Fatalf("json login: %+v", r)
	}
}

func TestRunEntryPoint(t *testing.T) {
	f := newFakeAPI(t)
	t.Setenv("BERTH_ENDPOINT", f.srv.URL)
	t.Setenv("BERTH_ACCESS_KEY", fakeAccess)
	t.Setenv("BERTH_SECRET_KEY", fakeSecret)
	t.Setenv("BERTH_CONFIG", filepath.Join(t.TempDir(), "config.json"))
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"agent", "ls", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr.String())
	}
	var agents []api.Agent
	decodeOnly(t, stdout.String(), &agents)
	if len(agents) != 1 {
		t.Errorf("agents = %+v", agents)
	}
	stdout.Reset()
	if code := run(context.Background(), nil, &stdout, &stderr); code != 2 {
		t.Errorf("no arguments: code %d", code)
	}
}

func TestUserPolicy(t *testing.T) {
	f := newFakeAPI(t)
	two := 2
	f.policy = api.ResourcePolicy{Name: "default", MaxPendingSessions: &two}
	r := runCLI(t, f, "", "user", "policy", "bob@example.com")
	if r.code != 0 || !strings.Contains(r.stdout, "Max pending:     2") || f.lastPolicy != nil {
		t.Fatalf("show: %d %q %q (put %v)", r.code, r.stdout, r.stderr, f.lastPolicy)
	}
	r = runCLI(t, f, "", "user", "policy", "bob@example.com", "--max-concurrent", "1", "--max-mem", "1g", "--max-pending", "unlimited", "--json")
	if r.code != 0 {
		t.Fatalf("set: %d %q", r.code, r.stderr)
	}
	var got api.ResourcePolicy
	decodeOnly(t, r.stdout, &got)
	p := f.lastPolicy
	if p == nil || p.Name != "" || p.MaxConcurrentSessions == nil || *p.MaxConcurrentSessions != 1 ||
		p.MaxMem == nil || *p.MaxMem != 1<<30 || p.MaxPendingSessions != nil || p.MaxCPU != nil {
		t.Errorf("PUT body %+v: want the user's own policy with only the given limits changed", p)
	}
	if got.Name != "user:bob@example.com" {
		t.Errorf("answer %+v", got)
	}
	r = runCLI(t, f, "", "user", "policy", "bob@example.com", "--max-cpu", "lots")
	if r.code != 2 || !strings.Contains(r.stderr, "--max-cpu") {
		t.Errorf("bad value: %d %q", r.code, r.stderr)
	}
}
