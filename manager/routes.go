package manager

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/database"
)

// publishRoutes writes a route per app of a running session into the
// Valkey hash the edge reads and announces each label; in port-mapping
// mode each app first gets an edge port.
func (m *Manager) publishRoutes(ctx context.Context, rec database.Record) {
	if len(rec.Apps) == 0 {
		return
	}
	a, err := m.db.Agent(ctx, rec.Agent)
	if err != nil {
		m.log.Warn("publishing routes: looking up agent", "session", rec.ID, "agent", rec.Agent, "err", err)
		return
	}
	var edge map[string]int
	if m.cfg.portMode() {
		names := make([]string, 0, len(rec.Apps))
		for _, app := range rec.Apps {
			names = append(names, app.Name)
		}
		edge, err = m.db.AllocatePorts(ctx, rec.ID, names, m.cfg.AppPorts[0], m.cfg.AppPorts[1])
		if errors.Is(err, database.ErrNoFreePort) {
			m.log.Warn("no edge port for session apps; only the wildcard URL works", "session", rec.ID, "err", err)
		} else if err != nil {
			m.log.Warn("allocating edge ports", "session", rec.ID, "err", err)
		}
	}
	c := m.bus.Client()
	for _, app := range rec.Apps {
		hp, ok := rec.Ports[app.Name]
		if !ok {
			m.log.Warn("app has no published port", "session", rec.ID, "app", app.Name)
			continue
		}
		label := api.HostLabel(rec.Name, rec.ID, app.Name)
		rt := api.Route{HostLabel: label, SessionID: rec.ID, SessionName: rec.Name, SessionType: rec.Type, OwnerID: rec.OwnerID,
			App: app.Name, Protocol: app.Protocol, Upstream: net.JoinHostPort(a.Address, strconv.Itoa(hp)),
			Public: rec.Type == api.TypeInference, EdgePort: edge[app.Name]}
		b, _ := json.Marshal(rt)
		if err := c.Do(ctx, c.B().Hset().Key(api.RoutesHash).FieldValue().FieldValue(label, string(b)).Build()).Error(); err != nil {
			m.log.Warn("writing route", "label", label, "err", err)
			continue
		}
		if err := c.Do(ctx, c.B().Publish().Channel(api.RoutesChannel).Message(label).Build()).Error(); err != nil {
			m.log.Warn("announcing route", "label", label, "err", err)
		}
	}
}

// deleteRoutes removes a session's routes and announces it.
func (m *Manager) deleteRoutes(ctx context.Context, rec database.Record) {
	c := m.bus.Client()
	for _, app := range rec.Apps {
		label := api.HostLabel(rec.Name, rec.ID, app.Name)
		if err := c.Do(ctx, c.B().Hdel().Key(api.RoutesHash).Field(label).Build()).Error(); err != nil {
			m.log.Warn("deleting route", "label", label, "err", err)
			continue
		}
		if err := c.Do(ctx, c.B().Publish().Channel(api.RoutesChannel).Message(label).Build()).Error(); err != nil {
			m.log.Warn("announcing route removal", "label", label, "err", err)
		}
	}
}

// freePorts releases a session's edge ports.
func (m *Manager) freePorts(ctx context.Context, rec database.Record) {
	if !m.cfg.portMode() {
		return
	}
	if err := m.db.FreePorts(ctx, rec.ID); err != nil {
		m.log.Warn("freeing edge ports", "session", rec.ID, "err", err)
	}
}
