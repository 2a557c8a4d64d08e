package manager_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager"
)

// TestTwoManagers runs two managers on one database and one Valkey, both
// sweeping every 100 ms: each session is placed exactly once, gets exactly
// one create command, and the agent's usage is the sum of its sessions.
func TestTwoManagers(t *testing.T) {
	a := start(t)
	b := start(t, func(c *manager.Config) {
		c.PostgresURL, c.ValkeyAddr, c.InstanceName = a.pg, a.valkey, "second-manager"
	})
	ag := a.agent("ha-agent", api.Resources{CPU: 8, Mem: 64 << 30})
	const n = 30
	for i := 0; i < n; i++ {
		e := a
		if i%2 == 1 {
			e = b // enqueue through both managers
		}
		_, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Name: fmt.Sprintf("ha%d", i), Image: "img",
			Resources: &api.Resources{CPU: 0.1, Mem: 64 << 20}})
		if err != nil {
			t.Fatal(err)
		}
	}
	creates := map[string]int{}
	for len(creates) < n {
		c := <-ag.cmds
		if c.Kind == api.CmdCreate {
			creates[c.SessionID]++
		}
	}
	for i := 0; i < n; i++ {
		s := a.waitStatus(fmt.Sprintf("ha%d", i), api.StatusPreparing)
		scheduled := 0
		for _, h := range s.History {
			if h.Status == api.StatusScheduled {
				scheduled++
			}
		}
		if scheduled != 1 || creates[s.ID] != 1 {
			t.Errorf("session %s: %d SCHEDULED entries, %d create commands; want 1 and 1", s.Name, scheduled, creates[s.ID])
		}
	}
	select {
	case c := <-ag.cmds:
		t.Errorf("extra command %s for %s", c.Kind, c.SessionID)
	default:
	}
	if used := a.agentUsed("ha-agent"); used.CPUMilli() != n*100 || used.Mem != n*(64<<20) {
		t.Errorf("agent usage %+v, want %d milli-CPU and %d bytes", used, n*100, n*(64<<20))
	}
}

// TestLostCommandsAreResent drops a session's create and destroy commands
// on the floor (the agent stopped mid-command) and checks the manager sends
// each again once the session has stalled.
func TestLostCommandsAreResent(t *testing.T) {
	e := start(t, func(c *manager.Config) { c.ResendAfter = 300 * time.Millisecond })
	a := e.agent("flaky", api.Resources{CPU: 4, Mem: 8 << 30})
	s, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Name: "lost", Image: "img"})
	if err != nil {
		t.Fatal(err)
	}
	a.next(api.CmdCreate, s.ID) // lost: the agent never answers
	a.next(api.CmdCreate, s.ID) // sent again
	a.send(api.Event{Kind: api.EvStarted, SessionID: s.ID, ContainerID: "c1"})
	e.waitStatus(s.ID, api.StatusRunning)
	if _, err := e.admin.DeleteSession(e.ctx, s.ID); err != nil {
		t.Fatal(err)
	}
	a.next(api.CmdDestroy, s.ID) // lost
	a.next(api.CmdDestroy, s.ID) // sent again
	e.eventually("status_info to say the command was sent again", func() string {
		got, err := e.admin.GetSession(e.ctx, s.ID)
		if err != nil || got.Status != api.StatusTerminating || !strings.Contains(got.StatusInfo, "sent to agent flaky again") {
			return fmt.Sprintf("%s %q %v", got.Status, got.StatusInfo, err)
		}
		return ""
	})
	a.send(api.Event{Kind: api.EvRemoved, SessionID: s.ID})
	e.waitStatus(s.ID, api.StatusTerminated)
}
