package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/auth"
	"github.com/berth-dev/berth/manager/database"
)

// MaxPolicySize bounds an uploaded policy module.
const MaxPolicySize = 32 << 20

// limitBody answers 413 for a body larger than limit before anything
// reads it (authentication hashes the body), and bounds what is read when
// the length is not announced.
func limitBody(limit int64, what string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			w.Header().Set("Connection", "close")
			problem(w, http.StatusRequestEntityTooLarge, "%s is too large: %d bytes; the limit is %d bytes (%d MiB)",
				what, r.ContentLength, limit, limit>>20)
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		h(w, r)
	}
}

// listing answers a GET of a whole collection with what fetch returns
// ([] rather than null when there is nothing).
func listing[T any](s *Server, fetch func(context.Context) ([]T, error)) userHandler {
	return func(w http.ResponseWriter, r *http.Request, _ api.User) {
		items, err := fetch(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if items == nil {
			items = []T{}
		}
		reply(w, http.StatusOK, items)
	}
}

var objectNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

func validObjectName(what, name string) error {
	if !objectNameRe.MatchString(name) || strings.Contains(name, "--") {
		return Errorf(http.StatusUnprocessableEntity, "invalid %s name %q: use 1-40 characters a-z, 0-9 and single '-', starting and ending with a letter or digit", what, name)
	}
	return nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, _ api.User) {
	var req api.CreateGroupRequest
	if !decode(w, r, &req) {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		problem(w, http.StatusUnprocessableEntity, "name is required")
		return
	}
	if err := validObjectName("group", req.Name); err != nil {
		s.fail(w, r, err)
		return
	}
	g, err := s.db.CreateGroup(r.Context(), req.Name, req.Description)
	if errors.Is(err, database.ErrConflict) {
		problem(w, http.StatusConflict, "group %q already exists", req.Name)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusCreated, g)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, _ api.User) {
	var req api.CreateUserRequest
	if !decode(w, r, &req) {
		return
	}
	req.Email = strings.TrimSpace(req.Email)
	if req.Role == "" {
		req.Role = api.RoleUser
	}
	switch {
	case req.Email == "":
		problem(w, http.StatusUnprocessableEntity, "email is required")
		return
	case !strings.Contains(req.Email, "@") || strings.ContainsAny(req.Email, " \t\n"):
		problem(w, http.StatusUnprocessableEntity, "invalid email %q", req.Email)
		return
	case len(req.Password) < auth.MinPasswordLen:
		problem(w, http.StatusUnprocessableEntity, "password is too short: use at least %d characters", auth.MinPasswordLen)
		return
	case req.Role != api.RoleUser && req.Role != api.RoleAdmin:
		problem(w, http.StatusUnprocessableEntity, "invalid role %q: use user or admin", req.Role)
		return
	}
	hash, err := auth.HashPassword(req.Password)
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, "%v", err)
		return
	}
	ak, sk := auth.NewKeypair()
	u, err := s.db.CreateUser(r.Context(), database.NewUser{Email: req.Email, PasswordHash: hash, Role: req.Role, AccessKey: ak, SecretKey: sk})
	if errors.Is(err, database.ErrConflict) {
		problem(w, http.StatusConflict, "user %s already exists", req.Email)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusCreated, u)
}

func (s *Server) getUserPolicy(w http.ResponseWriter, r *http.Request, _ api.User) {
	p, err := s.db.UserResourcePolicy(r.Context(), r.PathValue("email"))
	if errors.Is(err, database.ErrNotFound) {
		problem(w, http.StatusNotFound, "no user %s", r.PathValue("email"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, p)
}

// setUserPolicy stores the body's limits under its name (creating or
// replacing that resource policy; empty: the user's own) and assigns it to
// the user.
func (s *Server) setUserPolicy(w http.ResponseWriter, r *http.Request, _ api.User) {
	var p api.ResourcePolicy
	if !decode(w, r, &p) {
		return
	}
	p.Name = strings.TrimSpace(p.Name)
	if p.Name != "" {
		if err := validObjectName("resource policy", p.Name); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	switch {
	case p.MaxCPU != nil && *p.MaxCPU < 0:
		problem(w, http.StatusUnprocessableEntity, "max_cpu must not be negative")
		return
	case p.MaxMem != nil && *p.MaxMem < 0:
		problem(w, http.StatusUnprocessableEntity, "max_mem must not be negative")
		return
	case p.MaxGPU != nil && *p.MaxGPU < 0:
		problem(w, http.StatusUnprocessableEntity, "max_gpu must not be negative")
		return
	case p.MaxConcurrentSessions != nil && *p.MaxConcurrentSessions < 0:
		problem(w, http.StatusUnprocessableEntity, "max_concurrent_sessions must not be negative")
		return
	case p.MaxPendingSessions != nil && *p.MaxPendingSessions < 0:
		problem(w, http.StatusUnprocessableEntity, "max_pending_sessions must not be negative")
		return
	}
	out, err := s.db.SetUserResourcePolicy(r.Context(), r.PathValue("email"), p)
	if errors.Is(err, database.ErrNotFound) {
		problem(w, http.StatusNotFound, "no user %s", r.PathValue("email"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ctl.Wake() // a raised limit may let sessions start
	reply(w, http.StatusOK, out)
}

func (s *Server) uploadPolicy(w http.ResponseWriter, r *http.Request, _ api.User) {
	q := r.URL.Query()
	name, kind := strings.TrimSpace(q.Get("name")), strings.TrimSpace(q.Get("kind"))
	if name == "" {
		problem(w, http.StatusUnprocessableEntity, "query parameter name is required")
		return
	}
	if err := validObjectName("policy", name); err != nil {
		s.fail(w, r, err)
		return
	}
	if kind == "" {
		kind = api.PolicyScheduler
	}
	if kind != api.PolicyScheduler && kind != api.PolicyAuth {
		problem(w, http.StatusUnprocessableEntity, "invalid policy kind %q: use scheduler or auth", kind)
		return
	}
	wasm, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPolicySize))
	var big *http.MaxBytesError
	if errors.As(err, &big) {
		problem(w, http.StatusRequestEntityTooLarge, "policy module is too large: the limit is %d bytes (%d MiB)", big.Limit, big.Limit>>20)
		return
	}
	if err != nil {
		problem(w, http.StatusBadRequest, "reading policy module: %v", err)
		return
	}
	if len(wasm) == 0 {
		problem(w, http.StatusUnprocessableEntity, "request body is empty: send the Wasm module")
		return
	}
	p, err := s.ctl.UploadPolicy(r.Context(), name, kind, wasm)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusCreated, p)
}

type groupBody struct {
	Group string `json:"group"`
}

func (s *Server) readGroup(w http.ResponseWriter, r *http.Request) (string, bool) {
	var b groupBody
	if !decode(w, r, &b) {
		return "", false
	}
	if strings.TrimSpace(b.Group) == "" {
		problem(w, http.StatusUnprocessableEntity, "group is required")
		return "", false
	}
	return strings.TrimSpace(b.Group), true
}

func (s *Server) activatePolicy(w http.ResponseWriter, r *http.Request, _ api.User) {
	group, ok := s.readGroup(w, r)
	if !ok {
		return
	}
	g, err := s.ctl.ActivatePolicy(r.Context(), r.PathValue("name"), group)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ctl.Wake()
	reply(w, http.StatusOK, g)
}

func (s *Server) dryRunPolicy(w http.ResponseWriter, r *http.Request, _ api.User) {
	group, ok := s.readGroup(w, r)
	if !ok {
		return
	}
	d, err := s.ctl.DryRun(r.Context(), r.PathValue("name"), group)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, d)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	h, ok := s.ctl.Health(r.Context())
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	reply(w, status, h)
}
