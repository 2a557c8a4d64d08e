package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/bus"
	"github.com/berth-dev/berth/manager/httpapi"
)

// Send publishes a command on the agent's command stream.
func (m *Manager) Send(ctx context.Context, agentID string, cmd api.Command) error {
	return m.bus.Publish(ctx, api.CommandStreamPrefix+agentID, cmd)
}

// AwaitReply waits for the reply to command id (httpapi.ErrNoReply on
// timeout).
func (m *Manager) AwaitReply(ctx context.Context, id string, timeout time.Duration) (api.Reply, error) {
	var r api.Reply
	err := m.bus.AwaitReply(ctx, api.ReplyKeyPrefix+id, timeout, &r)
	if errors.Is(err, bus.ErrNoReply) {
		return r, httpapi.ErrNoReply
	}
	return r, err
}

// Health reports the database, Valkey and agents; all up means at least
// one ALIVE agent.
func (m *Manager) Health(ctx context.Context) (api.Health, bool) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	h := api.Health{Status: "ok", Components: map[string]string{}}
	ok := true
	if err := m.db.Ping(ctx); err != nil {
		h.Components["database"] = "down: " + err.Error()
		ok = false
	} else {
		h.Components["database"] = "up"
	}
	if err := m.bus.Ping(ctx); err != nil {
		h.Components["valkey"] = "down: " + err.Error()
		ok = false
	} else {
		h.Components["valkey"] = "up"
	}
	n, err := m.db.CountAliveAgents(ctx)
	switch {
	case err != nil:
		h.Components["agents"] = "unknown: " + err.Error()
		ok = false
	default:
		h.Components["agents"] = fmt.Sprintf("%d alive", n)
		ok = ok && n > 0
	}
	h.Components["manager"] = "up"
	if !ok {
		h.Status = "degraded"
	}
	return h, ok
}
