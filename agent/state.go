package agent

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/agent/runtime"
	"github.com/berth-dev/berth/api"
)

// track records a session's container in state.
func (a *agent) track(sid, containerID, state string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[sid] = &session{containerID: containerID, state: state}
}

// setRunning starts watching a session's container for its exit.
func (a *agent) setRunning(sid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s := a.sessions[sid]; s != nil && s.state != stRemoving {
		s.state, s.since = stRunning, time.Now()
	}
}

// release forgets a session with its ports and GPUs.
func (a *agent) release(sid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, sid)
	for p, owner := range a.ports {
		if owner == sid {
			delete(a.ports, p)
		}
	}
	for g, owner := range a.gpus {
		if owner == sid {
			delete(a.gpus, g)
		}
	}
}

// releasePorts frees the host ports a session holds.
func (a *agent) releasePorts(sid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for p, owner := range a.ports {
		if owner == sid {
			delete(a.ports, p)
		}
	}
}

// takePorts picks a free host port for each app: one the kernel offers on
// the publish address that no session of ours holds.
func (a *agent) takePorts(sid string, apps []api.ServicePort) (map[string]int, error) {
	ports := map[string]int{}
	for _, app := range apps {
		port, err := a.freePort(sid)
		if err != nil {
			a.releasePorts(sid)
			return nil, fmt.Errorf("picking a host port for app %s: %w", app.Name, err)
		}
		ports[app.Name] = port
	}
	return ports, nil
}

func (a *agent) freePort(sid string) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(a.publishIP, "0"))
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		a.mu.Lock()
		_, taken := a.ports[port]
		if !taken {
			a.ports[port] = sid
		}
		a.mu.Unlock()
		if !taken {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port on %s", a.publishIP)
}

// takeGPUs reserves n GPU indices for a session.
func (a *agent) takeGPUs(sid string, n int) ([]int, error) {
	if n <= 0 {
		return nil, nil
	}
	if a.gpuCount == 0 {
		return nil, fmt.Errorf("session asks for %d GPUs but agent %s has none (%s)", n, a.cfg.ID, a.capacity.GPUInfo)
	}
	if n > a.gpuCount {
		return nil, fmt.Errorf("session asks for %d GPUs but agent %s has %d", n, a.cfg.ID, a.gpuCount)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var free []int
	for i := 0; i < a.gpuCount && len(free) < n; i++ {
		if owner, taken := a.gpus[i]; !taken || owner == sid {
			free = append(free, i)
		}
	}
	if len(free) < n {
		return nil, fmt.Errorf("session asks for %d GPUs but only %d of agent %s's %d are free", n, len(free), a.cfg.ID, a.gpuCount)
	}
	for _, i := range free {
		a.gpus[i] = sid
	}
	return free, nil
}

// adoptPortsGPUs marks the host ports and GPUs an existing container holds
// as taken.
func (a *agent) adoptPortsGPUs(sid string, c runtime.Container) {
	_, ports := containerApps(c)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range ports {
		a.ports[p] = sid
	}
	for _, f := range strings.Split(c.Labels[labelGPUs], ",") {
		if i, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			a.gpus[i] = sid
		}
	}
}

// containerApps reads a container's apps and port map from its labels.
func containerApps(c runtime.Container) ([]api.ServicePort, map[string]int) {
	sp := c.Labels[api.LabelServicePorts]
	if sp == "" {
		sp = c.Labels[api.LabelServicePortsCompat]
	}
	apps, _ := api.ParseServicePorts(sp)
	return apps, parsePortMap(c.Labels[api.LabelPortMap])
}

// formatPortMap writes the port-map label: "app:hostport,...".
func formatPortMap(apps []api.ServicePort, ports map[string]int) string {
	var parts []string
	for _, app := range apps {
		parts = append(parts, app.Name+":"+strconv.Itoa(ports[app.Name]))
	}
	return strings.Join(parts, ",")
}

// parsePortMap reads a port-map label, skipping malformed items.
func parsePortMap(v string) map[string]int {
	ports := map[string]int{}
	for _, item := range strings.Split(v, ",") {
		name, port, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 && name != "" {
			ports[name] = n
		}
	}
	return ports
}

// sortedKeys is for stable log output.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
