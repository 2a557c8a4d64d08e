package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/agent/runtime"
	"github.com/berth-dev/berth/api"
)

// labelGPUs records the GPU indices a container was given ("0,1"), so a
// restarted agent knows they are taken.
const labelGPUs = "berth.gpus"

// handle runs one command from the agent's stream. An error leaves the
// command pending for a retry; failures that are the session's (missing
// image, bad spec) are reported as events and acknowledged.
func (a *agent) handle(ctx context.Context, data []byte) error {
	var cmd api.Command
	if err := json.Unmarshal(data, &cmd); err != nil {
		a.log.Error("dropping undecodable command", "err", err)
		return nil
	}
	if cmd.SessionID == "" && cmd.Spec != nil {
		cmd.SessionID = cmd.Spec.SessionID
	}
	log := a.log.With("cmd", cmd.ID, "kind", cmd.Kind, "session", cmd.SessionID)
	log.Info("command")
	if cmd.SessionID == "" {
		log.Error("dropping command without session ID")
		return a.replyIfAsked(ctx, cmd, api.Reply{Error: "command has no session ID"})
	}
	switch cmd.Kind {
	case api.CmdCreate:
		return a.create(ctx, cmd)
	case api.CmdDestroy:
		return a.destroy(ctx, cmd.SessionID)
	case api.CmdExec, api.CmdLogs:
		// These can take a while; run them aside so creates are not held up.
		a.jobs.Add(1)
		go func() {
			defer a.jobs.Done()
			var r api.Reply
			if cmd.Kind == api.CmdExec {
				r = a.exec(ctx, cmd)
			} else {
				r = a.logs(ctx, cmd)
			}
			if err := a.bus.Reply(ctx, api.ReplyKeyPrefix+cmd.ID, r); err != nil {
				log.Warn("replying", "err", err)
			}
		}()
		return nil
	}
	log.Error("dropping command of unknown kind")
	return a.replyIfAsked(ctx, cmd, api.Reply{Error: fmt.Sprintf("unknown command kind %q", cmd.Kind)})
}

// replyIfAsked replies to commands that expect a reply.
func (a *agent) replyIfAsked(ctx context.Context, cmd api.Command, r api.Reply) error {
	if cmd.ID == "" || (cmd.Kind != api.CmdExec && cmd.Kind != api.CmdLogs) {
		return nil
	}
	return a.bus.Reply(ctx, api.ReplyKeyPrefix+cmd.ID, r)
}

// fail reports that a session could not be started.
func (a *agent) fail(ctx context.Context, sessionID, msg string) error {
	a.log.Warn("session failed", "session", sessionID, "reason", msg)
	return a.publish(ctx, api.Event{Kind: api.EvFailed, SessionID: sessionID, Message: msg})
}

// create starts a session's container. It is idempotent: a container that
// already exists is reported (and started if it never was) instead.
func (a *agent) create(ctx context.Context, cmd api.Command) error {
	sid := cmd.SessionID
	spec := cmd.Spec
	if spec == nil {
		return a.fail(ctx, sid, "create command has no container spec")
	}
	rctx, cancel := context.WithTimeout(ctx, runtimeTimeout)
	defer cancel()

	c, err := a.rt.Inspect(rctx, containerName(sid))
	switch {
	case err == nil:
		return a.createExisting(ctx, sid, c)
	case !errors.Is(err, runtime.ErrNotFound):
		return err // the runtime is unwell: try again
	}

	if err := a.publish(ctx, api.Event{Kind: api.EvPreparing, SessionID: sid, Message: "checking image " + spec.Image}); err != nil {
		return err
	}
	labels, err := a.rt.ImageLabels(rctx, spec.Image)
	if errors.Is(err, runtime.ErrNotFound) {
		return a.fail(ctx, sid, fmt.Sprintf("image %s not found on agent %s", spec.Image, a.cfg.ID))
	}
	if err != nil {
		return a.fail(ctx, sid, err.Error())
	}
	servicePorts := labels[api.LabelServicePorts]
	if servicePorts == "" {
		servicePorts = labels[api.LabelServicePortsCompat]
	}
	apps, err := api.ParseServicePorts(servicePorts)
	if err != nil {
		return a.fail(ctx, sid, fmt.Sprintf("image %s: %v", spec.Image, err))
	}
	gpus, err := a.takeGPUs(sid, spec.Resources.GPU)
	if err != nil {
		return a.fail(ctx, sid, err.Error())
	}

	// A port can be taken between our bind test and Podman's; pick again.
	var id string
	var ports map[string]int
	for try := 1; ; try++ {
		ports, err = a.takePorts(sid, apps)
		if err != nil {
			break
		}
		id, err = a.rt.Run(rctx, a.runSpec(spec, sid, apps, ports, gpus))
		if err == nil || try == 3 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		a.log.Warn("host port taken; picking others", "session", sid, "err", err)
		a.releasePorts(sid)
	}
	if err != nil {
		a.release(sid)
		// Run removes a container that failed to start; make sure.
		_ = a.rt.Remove(context.WithoutCancel(rctx), containerName(sid), 0)
		return a.fail(ctx, sid, err.Error())
	}
	a.track(sid, id, stStarting)
	if err := a.publish(ctx, api.Event{Kind: api.EvStarted, SessionID: sid, ContainerID: id, Apps: apps, Ports: ports}); err != nil {
		return err // retried: the create finds the container and reports it
	}
	a.setRunning(sid)
	return nil
}

// createExisting reports a session whose container already exists.
func (a *agent) createExisting(ctx context.Context, sid string, c runtime.Container) error {
	apps, ports := containerApps(c)
	a.adoptPortsGPUs(sid, c)
	switch c.State {
	case runtime.StateRunning:
	case runtime.StateCreated:
		if err := a.rt.Start(ctx, c.ID); err != nil {
			a.release(sid)
			_ = a.rt.Remove(ctx, c.ID, 0)
			return a.fail(ctx, sid, err.Error())
		}
	case runtime.StateExited:
		a.track(sid, c.ID, stExited)
		return a.reportExit(ctx, sid, c)
	default:
		return fmt.Errorf("container %s is %s", c.Name, c.State)
	}
	a.track(sid, c.ID, stStarting)
	if err := a.publish(ctx, api.Event{Kind: api.EvStarted, SessionID: sid, ContainerID: c.ID, Apps: apps, Ports: ports}); err != nil {
		return err
	}
	a.setRunning(sid)
	return nil
}

// runSpec is the container for a session.
func (a *agent) runSpec(spec *api.ContainerSpec, sid string, apps []api.ServicePort, ports map[string]int, gpus []int) runtime.Spec {
	env := map[string]string{
		"BERTH_SESSION_ID":   sid,
		"BERTH_SESSION_NAME": spec.Name,
		"BERTH_SESSION_TYPE": string(spec.Type),
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	labels := map[string]string{
		api.LabelSession:      sid,
		api.LabelSessionName:  spec.Name,
		api.LabelAgent:        a.cfg.ID,
		api.LabelSessionType:  string(spec.Type),
		api.LabelPortMap:      formatPortMap(apps, ports),
		api.LabelServicePorts: api.FormatServicePorts(apps),
	}
	s := runtime.Spec{
		Name:    containerName(sid),
		Image:   spec.Image,
		Labels:  labels,
		Env:     env,
		Command: spec.Command,
		CPU:     spec.Resources.CPU,
		Mem:     spec.Resources.Mem,
	}
	for _, p := range apps {
		s.Ports = append(s.Ports, runtime.Port{HostIP: a.publishIP, HostPort: ports[p.Name], ContainerPort: p.Port})
	}
	if len(gpus) > 0 {
		idx := make([]string, len(gpus))
		for i, g := range gpus {
			idx[i] = strconv.Itoa(g)
			s.Devices = append(s.Devices, "nvidia.com/gpu="+idx[i])
		}
		labels[labelGPUs] = strings.Join(idx, ",")
	}
	return s
}

// destroy stops and removes a session's container and reports it gone.
func (a *agent) destroy(ctx context.Context, sid string) error {
	a.mu.Lock()
	if s := a.sessions[sid]; s != nil {
		s.state = stRemoving
	}
	a.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, runtimeTimeout)
	defer cancel()
	err := a.rt.Remove(rctx, containerName(sid), stopTimeout)
	if err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	a.release(sid)
	return a.publish(ctx, api.Event{Kind: api.EvRemoved, SessionID: sid})
}

// exec runs a command in a session's container.
func (a *agent) exec(ctx context.Context, cmd api.Command) api.Reply {
	if cmd.Exec == nil || len(cmd.Exec.Command) == 0 {
		return api.Reply{Error: "exec command has no command to run"}
	}
	timeout := execTimeout
	if cmd.Exec.TimeoutSeconds > 0 {
		timeout = time.Duration(cmd.Exec.TimeoutSeconds) * time.Second
	}
	ectx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res, err := a.rt.Exec(ectx, containerName(cmd.SessionID), cmd.Exec.Command)
	switch {
	case err == nil:
		return api.Reply{Exec: &res}
	case errors.Is(err, runtime.ErrNotFound):
		return api.Reply{Error: fmt.Sprintf("session %s has no container on agent %s", cmd.SessionID, a.cfg.ID)}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return api.Reply{Error: fmt.Sprintf("command %q timed out after %s", cmd.Exec.Command[0], timeout)}
	}
	return api.Reply{Error: err.Error()}
}

// logs reads a session's container output.
func (a *agent) logs(ctx context.Context, cmd api.Command) api.Reply {
	lctx, cancel := context.WithTimeout(ctx, runtimeTimeout)
	defer cancel()
	out, err := a.rt.Logs(lctx, containerName(cmd.SessionID), replyLogBytes)
	if errors.Is(err, runtime.ErrNotFound) {
		return api.Reply{Error: fmt.Sprintf("session %s has no container on agent %s", cmd.SessionID, a.cfg.ID)}
	}
	if err != nil {
		return api.Reply{Error: err.Error()}
	}
	return api.Reply{Logs: &api.Logs{Logs: out}}
}
