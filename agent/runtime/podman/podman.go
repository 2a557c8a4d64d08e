// Package podman implements agent/runtime against a Podman REST service
// (`podman system service`, 4.3 or later) with the Podman v5 Go bindings.
//
// Build with the tags remote,containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper.
package podman

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	nettypes "github.com/containers/common/libnetwork/types"
	"github.com/containers/podman/v5/pkg/api/handlers"
	"github.com/containers/podman/v5/pkg/bindings"
	"github.com/containers/podman/v5/pkg/bindings/containers"
	"github.com/containers/podman/v5/pkg/bindings/images"
	"github.com/containers/podman/v5/pkg/errorhandling"
	"github.com/containers/podman/v5/pkg/specgen"
	dockercontainer "github.com/docker/docker/api/types/container"
	spec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/agent/runtime"
	"github.com/berth-dev/berth/api"
)

// cpuPeriod is the CFS period (µs) that CPU limits are expressed in.
const cpuPeriod = 100000

// Runtime is a connection to one Podman service. It implements
// runtime.Runtime.
type Runtime struct {
	// conn holds the bindings' connection as a context value.
	conn     context.Context
	uri      string
	initPath string
	rlimits  []spec.POSIXRlimit
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the Podman service at socketURL, e.g.
// "unix:///run/podman/podman.sock", and checks that it answers.
//
// Containers get catatonit as PID 1 when it is installed (so stop is fast),
// and nofile/nproc rlimits no higher than this process's hard limits (nproc
// at most 32768, Podman 4.3's own cap), since raising them would fail.
func New(ctx context.Context, socketURL string) (*Runtime, error) {
	// The bindings keep the connection in a context; it must outlive ctx.
	conn, err := bindings.NewConnection(context.WithoutCancel(ctx), socketURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to podman at %s: %w", socketURL, err)
	}
	return &Runtime{conn: conn, uri: socketURL, initPath: findInit(), rlimits: rlimits()}, nil
}

// findInit returns the path of catatonit, or "" when it is not installed.
func findInit() string {
	for _, p := range []string{"/usr/libexec/podman/catatonit", "/usr/bin/catatonit", "/usr/local/bin/catatonit"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	if p, err := exec.LookPath("catatonit"); err == nil {
		return p
	}
	return ""
}

// callCtx carries ctx's deadline and cancellation and the connection's values.
type callCtx struct {
	context.Context
	values context.Context
}

func (c callCtx) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}
	return c.Context.Value(key)
}

func (r *Runtime) ctx(ctx context.Context) context.Context {
	return callCtx{Context: ctx, values: r.conn}
}

// notFound maps the service's 404 answers to runtime.ErrNotFound.
func notFound(err error) error {
	var em *errorhandling.ErrorModel
	if errors.As(err, &em) && em.ResponseCode == 404 {
		return fmt.Errorf("%w: %s", runtime.ErrNotFound, em.Message)
	}
	var ev errorhandling.ErrorModel
	if errors.As(err, &ev) && ev.ResponseCode == 404 {
		return fmt.Errorf("%w: %s", runtime.ErrNotFound, ev.Message)
	}
	return err
}

// ImageLabels implements runtime.Runtime.
func (r *Runtime) ImageLabels(ctx context.Context, image string) (map[string]string, error) {
	rep, err := images.GetImage(r.ctx(ctx), image, nil)
	if err != nil {
		return nil, fmt.Errorf("inspecting image %s: %w", image, notFound(err))
	}
	if rep.ImageData == nil {
		return map[string]string{}, nil
	}
	labels := map[string]string{}
	if rep.Config != nil {
		for k, v := range rep.Config.Labels {
			labels[k] = v
		}
	}
	for k, v := range rep.Labels {
		labels[k] = v
	}
	return labels, nil
}

// specFor translates a runtime.Spec into Podman's SpecGenerator.
func (r *Runtime) specFor(s runtime.Spec) *specgen.SpecGenerator {
	g := specgen.NewSpecGenerator(s.Image, false)
	g.Name = s.Name
	g.Labels = s.Labels
	g.Env = s.Env
	if len(s.Command) > 0 {
		g.Command = s.Command
	}
	if r.initPath != "" {
		yes := true
		g.Init = &yes
		g.InitPath = r.initPath
	}
	var res spec.LinuxResources
	if s.CPU > 0 {
		quota, period := int64(s.CPU*cpuPeriod+0.5), uint64(cpuPeriod)
		if quota < 1000 {
			quota = 1000 // the kernel's minimum is 1 ms
		}
		res.CPU = &spec.LinuxCPU{Quota: &quota, Period: &period}
	}
	if s.Mem > 0 {
		mem := s.Mem
		res.Memory = &spec.LinuxMemory{Limit: &mem}
	}
	if res.CPU != nil || res.Memory != nil {
		g.ResourceLimits = &res
	}
	g.Rlimits = r.rlimits
	for _, p := range s.Ports {
		g.PortMappings = append(g.PortMappings, nettypes.PortMapping{
			HostIP:        p.HostIP,
			HostPort:      uint16(p.HostPort),
			ContainerPort: uint16(p.ContainerPort),
			Protocol:      "tcp",
		})
	}
	for _, d := range s.Devices {
		g.Devices = append(g.Devices, spec.LinuxDevice{Path: d})
	}
	return g
}

// Run implements runtime.Runtime.
func (r *Runtime) Run(ctx context.Context, s runtime.Spec) (string, error) {
	g := r.specFor(s)
	if err := g.Validate(); err != nil {
		return "", fmt.Errorf("checking container spec: %w", err)
	}
	created, err := containers.CreateWithSpec(r.ctx(ctx), g, nil)
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", s.Name, notFound(err))
	}
	if err := containers.Start(r.ctx(ctx), created.ID, nil); err != nil {
		// A created container keeps its host ports; don't leave it behind.
		rmCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = r.Remove(rmCtx, created.ID, 0)
		return "", fmt.Errorf("starting container %s: %w", s.Name, err)
	}
	return created.ID, nil
}

// Start implements runtime.Runtime.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := containers.Start(r.ctx(ctx), id, nil); err != nil {
		return fmt.Errorf("starting container %s: %w", id, notFound(err))
	}
	return nil
}

// state maps Podman's status words onto runtime's.
func state(s string) string {
	switch s {
	case "configured", "created", "initialized":
		return runtime.StateCreated
	case "stopped", "exited":
		return runtime.StateExited
	}
	return s
}

// Inspect implements runtime.Runtime.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	d, err := containers.Inspect(r.ctx(ctx), id, nil)
	if err != nil {
		return runtime.Container{}, fmt.Errorf("inspecting container %s: %w", id, notFound(err))
	}
	c := runtime.Container{ID: d.ID, Name: d.Name, Image: d.ImageName}
	if d.Config != nil {
		c.Labels = d.Config.Labels
	}
	if d.State != nil {
		c.State = state(d.State.Status)
		c.ExitCode = int(d.State.ExitCode)
	}
	return c, nil
}

// List implements runtime.Runtime.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	var filter []string
	for k, v := range labels {
		filter = append(filter, k+"="+v)
	}
	opts := new(containers.ListOptions).WithAll(true)
	if len(filter) > 0 {
		opts = opts.WithFilters(map[string][]string{"label": filter})
	}
	list, err := containers.List(r.ctx(ctx), opts)
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	out := make([]runtime.Container, 0, len(list))
	for _, lc := range list {
		c := runtime.Container{ID: lc.ID, Image: lc.Image, Labels: lc.Labels, State: state(lc.State), ExitCode: int(lc.ExitCode)}
		if len(lc.Names) > 0 {
			c.Name = lc.Names[0]
		}
		out = append(out, c)
	}
	return out, nil
}

// Exec implements runtime.Runtime. When ctx ends first, Exec returns
// ctx's error and leaves the command running.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string) (api.ExecResult, error) {
	if len(cmd) == 0 {
		return api.ExecResult{}, errors.New("running command: empty command")
	}
	execID, err := containers.ExecCreate(r.ctx(ctx), id, &handlers.ExecCreateConfig{ExecConfig: dockercontainer.ExecOptions{
		Cmd: cmd, AttachStdout: true, AttachStderr: true,
	}})
	if err != nil {
		return api.ExecResult{}, fmt.Errorf("creating exec session in %s: %w", id, notFound(err))
	}
	// ExecStartAndAttach replaces its connection's HTTP transport, which
	// would race with every other call: give it a connection of its own.
	attachConn, err := bindings.NewConnection(context.WithoutCancel(ctx), r.uri)
	if err != nil {
		return api.ExecResult{}, fmt.Errorf("connecting to podman at %s: %w", r.uri, err)
	}
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		var ow, ew io.Writer = &stdout, &stderr
		// The attach runs on a hijacked connection that ctx does not cut,
		// so it runs on its own and we stop waiting when ctx ends.
		done <- containers.ExecStartAndAttach(attachConn, execID,
			new(containers.ExecStartAndAttachOptions).WithOutputStream(ow).WithErrorStream(ew).
				WithAttachOutput(true).WithAttachError(true))
		if c, err := bindings.GetClient(attachConn); err == nil {
			c.Client.CloseIdleConnections()
		}
	}()
	select {
	case <-ctx.Done():
		return api.ExecResult{}, fmt.Errorf("running %q in %s: %w", cmd[0], id, ctx.Err())
	case err := <-done:
		if err != nil {
			return api.ExecResult{}, fmt.Errorf("running %q in %s: %w", cmd[0], id, err)
		}
	}
	ins, err := containers.ExecInspect(r.ctx(ctx), execID, nil)
	if err != nil {
		return api.ExecResult{}, fmt.Errorf("reading exit code of %q in %s: %w", cmd[0], id, err)
	}
	return api.ExecResult{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: ins.ExitCode}, nil
}

// Logs implements runtime.Runtime.
func (r *Runtime) Logs(ctx context.Context, id string, maxBytes int) (string, error) {
	ch := make(chan string, 64)
	errc := make(chan error, 1)
	go func() {
		errc <- containers.Logs(r.ctx(ctx), id, new(containers.LogOptions).WithStdout(true).WithStderr(true), ch, ch)
		close(ch)
	}()
	var buf []byte
	for line := range ch {
		buf = append(buf, line...)
		if maxBytes > 0 && len(buf) > 2*maxBytes {
			buf = append(buf[:0], buf[len(buf)-maxBytes:]...)
		}
	}
	if err := <-errc; err != nil {
		return "", fmt.Errorf("reading logs of %s: %w", id, notFound(err))
	}
	if maxBytes > 0 && len(buf) > maxBytes {
		buf = buf[len(buf)-maxBytes:]
	}
	return string(buf), nil
}

// Remove implements runtime.Runtime.
func (r *Runtime) Remove(ctx context.Context, id string, timeout time.Duration) error {
	secs := uint(timeout / time.Second)
	reps, err := containers.Remove(r.ctx(ctx), id, new(containers.RemoveOptions).WithForce(true).WithTimeout(secs))
	if err != nil {
		return fmt.Errorf("removing container %s: %w", id, notFound(err))
	}
	for _, rep := range reps {
		if rep.Err != nil {
			return fmt.Errorf("removing container %s: %w", id, notFound(rep.Err))
		}
	}
	return nil
}
