// Package httpapi serves the manager's REST API (docs/api.md) under
// /api/v1/: the auth middleware (keypair signing or the login cookie), the
// handlers, the session event stream and the OpenAPI document. Errors are
// application/problem+json with a detail that names the problem.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/auth"
	"github.com/berth-dev/berth/manager/database"
)

// Prefix is the path every endpoint lives under.
const Prefix = "/api/v1"

// Config is what the handlers need to know about the deployment.
type Config struct {
	// Secret signs app tokens (shared with the edge).
	Secret []byte
	// PublicURL is where browsers reach the edge, e.g. http://localhost:8080.
	PublicURL string
	// AppsDomain is the wildcard app domain, e.g. apps.localhost.
	AppsDomain string
	// EdgePort is the edge's HTTP port in app URLs.
	EdgePort int
	// PortMode is true when apps also get a port of their own on the edge.
	PortMode bool
}

// Control is what the handlers ask of the rest of the manager.
type Control interface {
	// Wake asks the scheduler for a pass soon.
	Wake()
	// Send delivers a command to an agent.
	Send(ctx context.Context, agentID string, cmd api.Command) error
	// AwaitReply waits for the agent's reply to command id.
	AwaitReply(ctx context.Context, id string, timeout time.Duration) (api.Reply, error)
	// Health reports each component's state and whether all are up.
	Health(ctx context.Context) (api.Health, bool)
	// Policies lists built-in and stored policies.
	Policies(ctx context.Context) ([]api.Policy, error)
	// UploadPolicy validates and stores a policy module.
	UploadPolicy(ctx context.Context, name, kind string, wasm []byte) (api.Policy, error)
	// ActivatePolicy makes a scheduler policy active for a group.
	ActivatePolicy(ctx context.Context, name, group string) (api.Group, error)
	// DryRun runs one pass with a policy on a group's live state without
	// committing.
	DryRun(ctx context.Context, name, group string) (api.DryRun, error)
}

// Server is the REST API.
type Server struct {
	db     *database.DB
	ctl    Control
	log    *slog.Logger
	cfg    Config
	events *Broker
	mux    *http.ServeMux
	now    func() time.Time
	logins *auth.Guard
}

// New returns the API server. events carries session changes to /events
// subscribers (feed it from database.DB.OnChange).
func New(log *slog.Logger, db *database.DB, ctl Control, events *Broker, cfg Config) *Server {
	s := &Server{db: db, ctl: ctl, log: log, cfg: cfg, events: events, mux: http.NewServeMux(), now: time.Now,
		logins: auth.NewGuard(MaxLoginFails, LoginFailWindow)}
	s.routes()
	return s
}

// Failed logins: after MaxLoginFails for one email within LoginFailWindow,
// logins for it answer 429 until the window has passed.
const (
	MaxLoginFails   = 10
	LoginFailWindow = 15 * time.Minute
)

// MaxBody bounds every request body but a policy upload's
// (MaxPolicySize): authentication reads and hashes the whole body.
const MaxBody = 1 << 20

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/policies" {
		s.mux.ServeHTTP(w, r) // the route bounds its own body
		return
	}
	limitBody(MaxBody, "request body", s.mux.ServeHTTP)(w, r)
}

func (s *Server) routes() {
	p := Prefix
	m := s.mux
	m.HandleFunc("POST "+p+"/auth/login", s.login)
	m.HandleFunc("POST "+p+"/auth/logout", s.logout)
	m.HandleFunc("GET "+p+"/auth/me", s.user(s.me))
	m.HandleFunc("GET "+p+"/sessions", s.user(s.listSessions))
	m.HandleFunc("POST "+p+"/sessions", s.user(s.createSession))
	m.HandleFunc("GET "+p+"/sessions/{ref}", s.user(s.getSession))
	m.HandleFunc("DELETE "+p+"/sessions/{ref}", s.user(s.deleteSession))
	m.HandleFunc("GET "+p+"/sessions/{ref}/logs", s.user(s.sessionLogs))
	m.HandleFunc("POST "+p+"/sessions/{ref}/exec", s.user(s.sessionExec))
	m.HandleFunc("GET "+p+"/sessions/{ref}/apps", s.user(s.sessionApps))
	m.HandleFunc("GET "+p+"/events", s.user(s.sessionEvents))
	m.HandleFunc("GET "+p+"/apps/launch", s.launchApp)
	m.HandleFunc("GET "+p+"/agents", s.user(listing(s, s.db.Agents)))
	m.HandleFunc("GET "+p+"/groups", s.user(listing(s, s.db.Groups)))
	m.HandleFunc("POST "+p+"/groups", s.admin(s.createGroup))
	m.HandleFunc("GET "+p+"/users", s.admin(listing(s, s.db.Users)))
	m.HandleFunc("POST "+p+"/users", s.admin(s.createUser))
	m.HandleFunc("GET "+p+"/users/{email}/policy", s.admin(s.getUserPolicy))
	m.HandleFunc("PUT "+p+"/users/{email}/policy", s.admin(s.setUserPolicy))
	m.HandleFunc("GET "+p+"/policies", s.user(listing(s, s.ctl.Policies)))
	m.HandleFunc("POST "+p+"/policies", limitBody(MaxPolicySize, "policy module", s.admin(s.uploadPolicy)))
	m.HandleFunc("POST "+p+"/policies/{name}/activate", s.admin(s.activatePolicy))
	m.HandleFunc("POST "+p+"/policies/{name}/dryrun", s.admin(s.dryRunPolicy))
	m.HandleFunc("GET "+p+"/health", s.health)
	m.HandleFunc("GET "+p+"/openapi.json", serveOpenAPI)
	m.HandleFunc("/", s.noRoute)
}

// noRoute answers requests no pattern took: 405 when the path exists
// with other methods, else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pat := s.mux.Handler(probe); pat != "/" && pat != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		problem(w, http.StatusMethodNotAllowed, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", "))
		return
	}
	problem(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
}

// problem writes an application/problem+json error.
func problem(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Problem{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: fmt.Sprintf(format, args...)})
}

// StatusError is an error that carries the HTTP status to answer with.
// Control implementations return it for bad input.
type StatusError struct {
	Status int
	Detail string
}

func (e *StatusError) Error() string { return e.Detail }

// Errorf returns a *StatusError.
func Errorf(status int, format string, args ...any) error {
	return &StatusError{Status: status, Detail: fmt.Sprintf(format, args...)}
}

// fail answers err: a *StatusError with its status, ErrNotFound 404,
// ErrConflict 409, anything else 500 (logged, detail kept short).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *StatusError
	switch {
	case errors.As(err, &se):
		problem(w, se.Status, "%s", se.Detail)
	case errors.Is(err, database.ErrNotFound):
		problem(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, database.ErrConflict):
		problem(w, http.StatusConflict, "%v", err)
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away.
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		problem(w, http.StatusInternalServerError, "internal error: %v", err)
	}
}

// reply writes v as JSON with status.
func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 1 << 20

// decode reads a JSON body into v strictly: unknown fields, malformed
// JSON, wrong types and trailing data are 400s naming the problem, a
// too-large body 413. It writes the answer and returns false on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("unexpected data after the JSON object")
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF && terr != nil {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var big *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		problem(w, http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", big.Limit)
	case errors.Is(err, io.EOF):
		problem(w, http.StatusBadRequest, "request body is empty: expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		problem(w, http.StatusBadRequest, "malformed JSON: unexpected end of input")
	case errors.As(err, &syn):
		problem(w, http.StatusBadRequest, "malformed JSON at offset %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		problem(w, http.StatusBadRequest, "field %s: expected %s, got JSON %s", field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		problem(w, http.StatusBadRequest, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		problem(w, http.StatusBadRequest, "reading request body: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return false
}

// appScheme returns the scheme of the public URL ("http" if unparsable).
func (s *Server) appScheme() string {
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Scheme != "" {
		return u.Scheme
	}
	return "http"
}

// publicHost returns the host name (no port) of the public URL.
func (s *Server) publicHost() string {
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}
