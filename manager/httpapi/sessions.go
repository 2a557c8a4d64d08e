package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/database"
	"github.com/google/uuid"
)

// Exec and logs limits.
const (
	DefaultExecTimeout = 60 * time.Second
	MaxExecTimeout     = time.Hour
	// ReplyGrace is added to an exec's timeout when waiting for the agent.
	ReplyGrace  = 10 * time.Second
	LogsTimeout = 15 * time.Second
)

// ErrNoReply is what Control.AwaitReply returns when the agent does not
// answer in time.
var ErrNoReply = errors.New("no reply in time")

func isAdmin(u api.User) bool { return u.Role == api.RoleAdmin }

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, u api.User) {
	owner := u.ID
	if isAdmin(u) {
		owner = ""
	}
	all := r.URL.Query().Get("all")
	ss, err := s.db.Sessions(r.Context(), owner, all == "1" || all == "true")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ss == nil {
		ss = []api.Session{}
	}
	reply(w, http.StatusOK, ss)
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, u api.User) {
	var req api.CreateSessionRequest
	if !decode(w, r, &req) {
		return
	}
	ns, err := newSession(req, u.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if ns.DependsOn, err = s.dependencies(r, u, req.DependsOn); err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.db.CreateSession(r.Context(), ns)
	switch {
	case errors.Is(err, database.ErrPendingLimit):
		problem(w, http.StatusTooManyRequests, "%s", strings.TrimSuffix(err.Error(), ": "+database.ErrPendingLimit.Error()))
		return
	case errors.Is(err, database.ErrOverPolicy):
		problem(w, http.StatusUnprocessableEntity, "%s", strings.TrimSuffix(err.Error(), ": "+database.ErrOverPolicy.Error()))
		return
	case errors.Is(err, database.ErrConflict):
		problem(w, http.StatusConflict, "session name %q is already taken", ns.Name)
		return
	case errors.Is(err, database.ErrUnknownGroup):
		problem(w, http.StatusUnprocessableEntity, "unknown resource group %q", ns.Group)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	s.ctl.Wake()
	w.Header().Set("Location", Prefix+"/sessions/"+rec.ID)
	reply(w, http.StatusCreated, rec.Session)
}

// MaxDependencies bounds a session's depends_on list.
const MaxDependencies = 32

// dependencies resolves depends_on references (ID, 8-hex prefix or name)
// to session IDs the user may see, without duplicates.
func (s *Server) dependencies(r *http.Request, u api.User, refs []string) ([]string, error) {
	if len(refs) > MaxDependencies {
		return nil, Errorf(http.StatusUnprocessableEntity, "depends_on lists %d sessions; at most %d are allowed", len(refs), MaxDependencies)
	}
	var ids []string
	seen := map[string]bool{}
	for _, ref := range refs {
		if strings.TrimSpace(ref) == "" {
			return nil, Errorf(http.StatusUnprocessableEntity, "depends_on has an empty session reference")
		}
		rec, err := s.db.ResolveSession(r.Context(), ref, u.ID, isAdmin(u))
		if errors.Is(err, database.ErrNotFound) {
			return nil, Errorf(http.StatusUnprocessableEntity, "unknown dependency %q: no such session", ref)
		}
		if err != nil {
			return nil, err
		}
		if !seen[rec.ID] {
			seen[rec.ID] = true
			ids = append(ids, rec.ID)
		}
	}
	return ids, nil
}

// newSession validates a create request and fills in the defaults.
func newSession(req api.CreateSessionRequest, owner string) (database.NewSession, error) {
	bad := func(format string, args ...any) (database.NewSession, error) {
		return database.NewSession{}, Errorf(http.StatusUnprocessableEntity, format, args...)
	}
	if len(req.Mounts) > 0 {
		// Accepting them would start the session without its data.
		return bad("mounts need storage folders, which this Berth does not have yet: create the session without --mount")
	}
	ns := database.NewSession{Name: strings.TrimSpace(req.Name), OwnerID: owner, Image: strings.TrimSpace(req.Image),
		Type: req.Type, Group: strings.TrimSpace(req.Group), Env: req.Env, Command: req.Command, Mounts: req.Mounts,
		Priority: req.Priority}
	if ns.Image == "" {
		return bad("image is required")
	}
	if strings.ContainsAny(ns.Image, " \t\n") {
		return bad("invalid image %q: no spaces allowed", ns.Image)
	}
	if ns.Name == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		ns.Name = "s-" + hex.EncodeToString(b[:])
	}
	if err := api.ValidateName(ns.Name); err != nil {
		return bad("%v", err)
	}
	if ns.Type == "" {
		ns.Type = api.TypeInteractive
	}
	if !ns.Type.Valid() {
		return bad("invalid session type %q: use interactive, batch or inference", ns.Type)
	}
	if ns.Group == "" {
		ns.Group = "default"
	}
	ns.Resources = api.DefaultResources
	if rr := req.Resources; rr != nil {
		if rr.CPU < 0 || rr.Mem < 0 || rr.GPU < 0 {
			return bad("resources must not be negative (cpu %g, mem %d, gpu %d)", rr.CPU, rr.Mem, rr.GPU)
		}
		if rr.CPU > 0 {
			ns.Resources.CPU = rr.CPU
		}
		if rr.Mem > 0 {
			ns.Resources.Mem = rr.Mem
		}
		ns.Resources.GPU = rr.GPU
	}
	if ns.Resources.CPUMilli() < 1 {
		return bad("cpu %g is below the minimum of 0.001", ns.Resources.CPU)
	}
	if ns.Priority < 0 || ns.Priority > 100 {
		return bad("priority %d is outside 0-100", ns.Priority)
	}
	if req.StartsAt != nil {
		if ns.Type != api.TypeBatch {
			return bad("starts_at is only for batch sessions (this one is %s)", ns.Type)
		}
		t := req.StartsAt.UTC()
		ns.StartsAt = &t
	}
	for k := range ns.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return bad("invalid environment variable name %q", k)
		}
	}
	return ns, nil
}

// resolve finds the session {ref} names for u, answering 404 itself.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, u api.User) (database.Record, bool) {
	ref := r.PathValue("ref")
	rec, err := s.db.ResolveSession(r.Context(), ref, u.ID, isAdmin(u))
	if errors.Is(err, database.ErrNotFound) {
		problem(w, http.StatusNotFound, "no session %q", ref)
		return database.Record{}, false
	}
	if err != nil {
		s.fail(w, r, err)
		return database.Record{}, false
	}
	return rec, true
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, u api.User) {
	rec, ok := s.resolve(w, r, u)
	if !ok {
		return
	}
	h, err := s.db.History(r.Context(), rec.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec.History = h
	reply(w, http.StatusOK, rec.Session)
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, u api.User) {
	rec, ok := s.resolve(w, r, u)
	if !ok {
		return
	}
	out, err := s.terminate(r, rec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusAccepted, out.Session)
}

// terminate cancels a pending session or asks its agent to destroy it.
func (s *Server) terminate(r *http.Request, rec database.Record) (database.Record, error) {
	ctx := r.Context()
	switch rec.Status {
	case api.StatusPending:
		out, err := s.db.Transition(ctx, rec.ID, api.StatusCancelled, "cancelled by user", database.Update{})
		if errors.Is(err, database.ErrBadTransition) {
			return s.db.Session(ctx, rec.ID) // placed meanwhile; the client may ask again
		}
		return out, err
	case api.StatusScheduled, api.StatusPreparing, api.StatusRunning:
		out, err := s.db.Transition(ctx, rec.ID, api.StatusTerminating, "terminating: requested by user", database.Update{})
		if errors.Is(err, database.ErrBadTransition) {
			return s.db.Session(ctx, rec.ID)
		}
		if err != nil {
			return database.Record{}, err
		}
		return out, s.destroy(r, out)
	case api.StatusTerminating:
		// Ask again: harmless, and it helps if the first command was lost.
		return rec, s.destroy(r, rec)
	}
	return rec, nil
}

func (s *Server) destroy(r *http.Request, rec database.Record) error {
	if rec.Agent == "" {
		return nil
	}
	cmd := api.Command{ID: uuid.NewString(), Kind: api.CmdDestroy, SessionID: rec.ID, IssuedAt: s.now()}
	if err := s.ctl.Send(r.Context(), rec.Agent, cmd); err != nil {
		return fmt.Errorf("sending destroy to agent %s: %w", rec.Agent, err)
	}
	return nil
}

func (s *Server) sessionLogs(w http.ResponseWriter, r *http.Request, u api.User) {
	rec, ok := s.resolve(w, r, u)
	if !ok {
		return
	}
	live := rec.Agent != "" && (rec.Status == api.StatusRunning || rec.Status == api.StatusTerminating || rec.Status == api.StatusPreparing)
	if !live {
		reply(w, http.StatusOK, api.Logs{Logs: rec.LogsTail})
		return
	}
	rep, err := s.ask(r, rec, api.Command{Kind: api.CmdLogs}, LogsTimeout)
	if err == nil && rep.Error == "" && rep.Logs != nil {
		reply(w, http.StatusOK, rep.Logs)
		return
	}
	if rec.LogsTail != "" {
		reply(w, http.StatusOK, api.Logs{Logs: rec.LogsTail})
		return
	}
	s.askFailed(w, r, rec, rep, err, LogsTimeout)
}

func (s *Server) sessionExec(w http.ResponseWriter, r *http.Request, u api.User) {
	var req api.ExecRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Command) == 0 || req.Command[0] == "" {
		problem(w, http.StatusUnprocessableEntity, "command is required")
		return
	}
	if req.TimeoutSeconds < 0 || time.Duration(req.TimeoutSeconds)*time.Second > MaxExecTimeout {
		problem(w, http.StatusUnprocessableEntity, "timeout_seconds %d is outside 0-%d", req.TimeoutSeconds, int(MaxExecTimeout.Seconds()))
		return
	}
	rec, ok := s.resolve(w, r, u)
	if !ok {
		return
	}
	if rec.Status != api.StatusRunning {
		problem(w, http.StatusConflict, "session %s is %s, not RUNNING", rec.Name, rec.Status)
		return
	}
	timeout := DefaultExecTimeout
	if req.TimeoutSeconds > 0 {
		timeout = time.Duration(req.TimeoutSeconds) * time.Second
	}
	rep, err := s.ask(r, rec, api.Command{Kind: api.CmdExec, Exec: &req}, timeout+ReplyGrace)
	if err != nil || rep.Error != "" || rep.Exec == nil {
		s.askFailed(w, r, rec, rep, err, timeout+ReplyGrace)
		return
	}
	reply(w, http.StatusOK, rep.Exec)
}

// ask sends cmd to the session's agent and waits for the reply.
func (s *Server) ask(r *http.Request, rec database.Record, cmd api.Command, timeout time.Duration) (api.Reply, error) {
	cmd.ID = uuid.NewString()
	cmd.SessionID = rec.ID
	cmd.IssuedAt = s.now()
	if err := s.ctl.Send(r.Context(), rec.Agent, cmd); err != nil {
		return api.Reply{}, err
	}
	return s.ctl.AwaitReply(r.Context(), cmd.ID, timeout)
}

func (s *Server) askFailed(w http.ResponseWriter, r *http.Request, rec database.Record, rep api.Reply, err error, timeout time.Duration) {
	switch {
	case errors.Is(err, ErrNoReply):
		problem(w, http.StatusGatewayTimeout, "agent %s did not answer within %s", rec.Agent, timeout)
	case err != nil:
		s.fail(w, r, err)
	case rep.Error != "":
		problem(w, http.StatusBadGateway, "agent %s: %s", rec.Agent, rep.Error)
	default:
		problem(w, http.StatusBadGateway, "agent %s sent an empty reply", rec.Agent)
	}
}
