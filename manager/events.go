package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/database"
	"github.com/google/uuid"
)

// handleEvent applies one agent event. Events may arrive twice (after a
// restart) and must be harmless the second time: transitions the lifecycle
// forbids are skipped, and usage is released at most once. A returned
// error leaves the event for a retry.
func (m *Manager) handleEvent(ctx context.Context, data []byte) error {
	var ev api.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		m.log.Warn("dropping undecodable event", "err", err)
		return nil
	}
	if ev.Kind == api.EvHeartbeat {
		return m.onHeartbeat(ctx, ev)
	}
	if ev.SessionID == "" {
		m.log.Warn("dropping event without session", "kind", ev.Kind, "agent", ev.AgentID)
		return nil
	}
	rec, err := m.db.Session(ctx, ev.SessionID)
	if errors.Is(err, database.ErrNotFound) {
		m.log.Warn("event for unknown session", "kind", ev.Kind, "session", ev.SessionID, "agent", ev.AgentID)
		if ev.Kind == api.EvStarted || ev.Kind == api.EvAdopted {
			m.destroy(ctx, ev.AgentID, ev.SessionID) // a container nobody knows: remove it
		}
		return nil
	}
	if err != nil {
		return err
	}
	switch ev.Kind {
	case api.EvPreparing:
		err = m.onPreparing(ctx, rec, ev)
	case api.EvStarted, api.EvAdopted:
		err = m.onStarted(ctx, rec, ev)
	case api.EvExited:
		err = m.onExited(ctx, rec, ev)
	case api.EvFailed:
		err = m.onFailed(ctx, rec, ev)
	case api.EvRemoved:
		err = m.onRemoved(ctx, rec, ev)
	default:
		m.log.Warn("dropping event of unknown kind", "kind", ev.Kind)
	}
	if errors.Is(err, database.ErrBadTransition) {
		m.log.Debug("event does not apply to the session's status", "kind", ev.Kind, "session", rec.ID, "err", err)
		return nil
	}
	return err
}

func (m *Manager) onHeartbeat(ctx context.Context, ev api.Event) error {
	if ev.Agent == nil {
		return nil
	}
	a := *ev.Agent
	if a.ID == "" {
		a.ID = ev.AgentID
	}
	if a.ID == "" {
		return nil
	}
	changed, err := m.db.UpsertAgent(ctx, a, time.Now())
	if err != nil {
		return err
	}
	if changed {
		m.log.Info("agent alive", "agent", a.ID, "group", a.Group, "cpu", a.Capacity.CPU, "mem", a.Capacity.Mem, "gpu", a.Capacity.GPU)
		m.Wake()
	}
	return nil
}

func (m *Manager) onPreparing(ctx context.Context, rec database.Record, ev api.Event) error {
	info := fmt.Sprintf("agent %s: preparing container", ev.AgentID)
	if ev.Message != "" {
		info = fmt.Sprintf("agent %s: %s", ev.AgentID, ev.Message)
	}
	switch rec.Status {
	case api.StatusScheduled:
		_, err := m.db.Transition(ctx, rec.ID, api.StatusPreparing, info, database.Update{})
		return err
	case api.StatusPreparing:
		_, err := m.db.UpdateSession(ctx, rec.ID, info, database.Update{})
		return err
	}
	return nil
}

func (m *Manager) onStarted(ctx context.Context, rec database.Record, ev api.Event) error {
	info := fmt.Sprintf("container started on agent %s", ev.AgentID)
	if ev.Kind == api.EvAdopted {
		info = fmt.Sprintf("re-adopted by agent %s after restart", ev.AgentID)
	}
	apps := ev.Apps
	if apps == nil {
		apps = []api.ServicePort{}
	}
	ports := ev.Ports
	if ports == nil {
		ports = map[string]int{}
	}
	u := database.Update{ContainerID: &ev.ContainerID, Apps: apps, Ports: ports}
	if rec.Type == api.TypeBatch {
		r := api.ResultUndefined
		u.Result = &r
	}
	var err error
	switch rec.Status {
	case api.StatusScheduled, api.StatusPreparing:
		rec, err = m.db.Transition(ctx, rec.ID, api.StatusRunning, info, u)
	case api.StatusRunning:
		rec, err = m.db.UpdateSession(ctx, rec.ID, info, u)
	case api.StatusTerminating:
		// Deleted meanwhile: make sure the agent hears it.
		m.destroy(ctx, ev.AgentID, rec.ID)
		return nil
	default:
		m.log.Warn("container of an ended session is running; removing it", "session", rec.ID, "status", rec.Status, "agent", ev.AgentID)
		m.destroy(ctx, ev.AgentID, rec.ID)
		return nil
	}
	if err != nil {
		return err
	}
	m.publishRoutes(ctx, rec)
	return nil
}

func (m *Manager) onExited(ctx context.Context, rec database.Record, ev api.Event) error {
	code := -1
	if ev.ExitCode != nil {
		code = *ev.ExitCode
	}
	u := database.Update{ExitCode: &code, LogsTail: &ev.Logs}
	info := fmt.Sprintf("container exited with code %d", code)
	if rec.Type == api.TypeBatch {
		r := api.ResultSuccess
		if code != 0 {
			r = api.ResultFailure
		}
		u.Result = &r
		info = fmt.Sprintf("command exited with code %d", code)
	}
	switch rec.Status {
	case api.StatusScheduled, api.StatusPreparing, api.StatusRunning:
		out, err := m.db.Transition(ctx, rec.ID, api.StatusTerminating, info, u)
		if err != nil {
			return err
		}
		m.deleteRoutes(ctx, out)
		m.destroy(ctx, ev.AgentID, rec.ID)
		return nil
	case api.StatusTerminating:
		_, err := m.db.UpdateSession(ctx, rec.ID, "", u)
		return err
	}
	// Ended already: keep the first exit code, but take the logs if none.
	if rec.ExitCode == nil {
		_, err := m.db.UpdateSession(ctx, rec.ID, "", database.Update{ExitCode: &code, LogsTail: &ev.Logs})
		return err
	}
	return nil
}

func (m *Manager) onFailed(ctx context.Context, rec database.Record, ev api.Event) error {
	if rec.Status.Terminal() {
		return nil
	}
	msg := ev.Message
	if msg == "" {
		msg = fmt.Sprintf("agent %s could not start image %s", ev.AgentID, rec.Image)
	}
	out, err := m.db.Transition(ctx, rec.ID, api.StatusError, msg, database.Update{Release: true})
	if err != nil {
		return err
	}
	m.deleteRoutes(ctx, out)
	m.freePorts(ctx, out)
	m.destroy(ctx, ev.AgentID, rec.ID) // remove whatever was left behind
	m.Wake()
	return nil
}

func (m *Manager) onRemoved(ctx context.Context, rec database.Record, ev api.Event) error {
	var out database.Record
	var err error
	rel := database.Update{Release: true}
	switch rec.Status {
	case api.StatusTerminating:
		info := fmt.Sprintf("container removed from agent %s", ev.AgentID)
		if rec.Type == api.TypeBatch && rec.ExitCode != nil {
			info = fmt.Sprintf("command exited with code %d; container removed from agent %s", *rec.ExitCode, ev.AgentID)
		}
		out, err = m.db.Transition(ctx, rec.ID, api.StatusTerminated, info, rel)
	case api.StatusScheduled, api.StatusPreparing, api.StatusRunning:
		out, err = m.db.Transition(ctx, rec.ID, api.StatusError, fmt.Sprintf("container removed from agent %s unexpectedly", ev.AgentID), rel)
	default:
		out, err = m.db.UpdateSession(ctx, rec.ID, "", rel)
	}
	if err != nil {
		return err
	}
	m.deleteRoutes(ctx, out)
	m.freePorts(ctx, out)
	m.Wake()
	return nil
}

// destroy sends a destroy command for a session to an agent (logged, not
// returned, on failure: the caller has nothing better to do).
func (m *Manager) destroy(ctx context.Context, agentID, sessionID string) {
	if agentID == "" {
		return
	}
	cmd := api.Command{ID: uuid.NewString(), Kind: api.CmdDestroy, SessionID: sessionID, IssuedAt: time.Now()}
	if err := m.Send(ctx, agentID, cmd); err != nil {
		m.log.Warn("sending destroy", "agent", agentID, "session", sessionID, "err", err)
	}
}
