package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/agent/runtime"
	"github.com/berth-dev/berth/api"
)

// adopt takes over the containers labelled with this agent's ID: running
// ones are reported adopted and watched, ended ones reported exited.
func (a *agent) adopt(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, runtimeTimeout)
	defer cancel()
	list, err := a.rt.List(lctx, map[string]string{api.LabelAgent: a.cfg.ID})
	if err != nil {
		return err
	}
	for _, c := range list {
		sid := c.Labels[api.LabelSession]
		if sid == "" {
			continue
		}
		a.adoptPortsGPUs(sid, c)
		switch c.State {
		case runtime.StateExited:
			a.track(sid, c.ID, stExited)
			if err := a.reportExit(ctx, sid, c); err != nil {
				return err
			}
		case runtime.StateCreated:
			// An interrupted create: its command is still pending and will
			// start it.
			a.track(sid, c.ID, stCreated)
			a.log.Info("found a created container", "session", sid, "container", c.Name)
		default:
			apps, ports := containerApps(c)
			a.track(sid, c.ID, stStarting)
			ev := api.Event{Kind: api.EvAdopted, SessionID: sid, ContainerID: c.ID, Apps: apps, Ports: ports}
			if err := a.publish(ctx, ev); err != nil {
				return err
			}
			a.setRunning(sid)
			a.log.Info("adopted container", "session", sid, "container", c.Name, "state", c.State, "apps", sortedKeys(ports))
		}
	}
	return nil
}

// reportExit publishes a container's exit with the tail of its output.
func (a *agent) reportExit(ctx context.Context, sid string, c runtime.Container) error {
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	logs, err := a.rt.Logs(lctx, c.ID, exitLogBytes)
	if err != nil {
		a.log.Warn("reading logs of exited container", "session", sid, "err", err)
	}
	code := c.ExitCode
	a.log.Info("container exited", "session", sid, "exit_code", code)
	return a.publish(ctx, api.Event{Kind: api.EvExited, SessionID: sid, ContainerID: c.ID, ExitCode: &code, Logs: logs})
}

func (a *agent) watchLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.WatchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.check(ctx)
		}
	}
}

// check looks for running containers that exited or vanished.
func (a *agent) check(ctx context.Context) {
	listedAt := time.Now()
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	list, err := a.rt.List(lctx, map[string]string{api.LabelAgent: a.cfg.ID})
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("listing containers", "err", err)
		}
		return
	}
	byID := make(map[string]runtime.Container, len(list))
	for _, c := range list {
		byID[c.ID] = c
	}
	var exited []runtime.Container
	var exitedSIDs, gone []string
	a.mu.Lock()
	for sid, s := range a.sessions {
		if s.state != stRunning || s.since.After(listedAt) {
			continue
		}
		c, ok := byID[s.containerID]
		switch {
		case !ok:
			gone = append(gone, sid)
		case c.State == runtime.StateExited:
			exited = append(exited, c)
			exitedSIDs = append(exitedSIDs, sid)
			s.state = stExited
		}
	}
	a.mu.Unlock()

	for i, c := range exited {
		sid := exitedSIDs[i]
		if err := a.reportExit(ctx, sid, c); err != nil {
			a.log.Warn("reporting exit; will retry", "session", sid, "err", err)
			a.setRunning(sid)
		}
	}
	for _, sid := range gone {
		msg := fmt.Sprintf("container %s was removed outside berth", containerName(sid))
		a.log.Warn("container vanished", "session", sid)
		if err := a.publish(ctx, api.Event{Kind: api.EvRemoved, SessionID: sid, Message: msg}); err != nil {
			a.log.Warn("reporting vanished container; will retry", "session", sid, "err", err)
			continue
		}
		a.release(sid)
	}
}
