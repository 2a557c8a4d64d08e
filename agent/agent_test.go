package agent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/agent"
	"github.com/berth-dev/berth/agent/runtime/podman/podmantest"
	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/bus"
	"github.com/berth-dev/berth/bus/bustest"
)

const (
	helloImage   = "localhost/berth-agenttest-hello"
	busyboxImage = "localhost/berth-agenttest-busybox"
	waitFor      = 90 * time.Second
)

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// harness is one agent under test with its Valkey and Podman.
type harness struct {
	t       *testing.T
	ctx     context.Context
	bus     *bus.Bus
	cfg     agent.Config
	lastID  string // last event stream entry read
	backlog []api.Event
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	sock := podmantest.StartService(t)
	addr := bustest.StartRedis(t)
	podmantest.BuildHelloImage(t, helloImage)
	podmantest.BuildBusyboxImage(t, busyboxImage)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	b, err := bus.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	id := "agenttest-" + randomHex(t, 4)
	t.Cleanup(func() { podmantest.RemoveContainers(t, api.LabelAgent, id) })
	return &harness{t: t, ctx: ctx, bus: b, lastID: "0", cfg: agent.Config{
		ID: id, Group: "default", Address: "127.0.0.1", ValkeyAddr: addr, PodmanSocket: sock,
		HeartbeatEvery: time.Second, Version: "test",
	}}
}

// testWriter sends agent logs to t.Log until the test ends.
type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// start runs the agent; the returned func stops it and waits for Run.
func (h *harness) start() (stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(h.ctx)
	w := &testWriter{t: h.t}
	log := slog.New(slog.NewTextHandler(w, nil))
	errc := make(chan error, 1)
	go func() { errc <- agent.Run(ctx, log, h.cfg) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != nil {
				h.t.Errorf("agent.Run: %v", err)
			}
			w.mu.Lock()
			w.done = true
			w.mu.Unlock()
		})
	}
	h.t.Cleanup(stop)
	return stop
}

// send puts a command on the agent's stream.
func (h *harness) send(cmd api.Command) {
	h.t.Helper()
	if cmd.ID == "" {
		cmd.ID = randomHex(h.t, 8)
	}
	cmd.IssuedAt = time.Now()
	if err := h.bus.Publish(h.ctx, api.CommandStreamPrefix+h.cfg.ID, cmd); err != nil {
		h.t.Fatal(err)
	}
}

// request sends an exec or logs command and waits for its reply.
func (h *harness) request(cmd api.Command) api.Reply {
	h.t.Helper()
	cmd.ID = randomHex(h.t, 8)
	h.send(cmd)
	var r api.Reply
	if err := h.bus.AwaitReply(h.ctx, api.ReplyKeyPrefix+cmd.ID, waitFor, &r); err != nil {
		h.t.Fatalf("awaiting reply to %s: %v", cmd.Kind, err)
	}
	return r
}

// wait returns the next event of kind for session sid (any session when
// sid is ""), skipping others; events of other kinds stay for later waits.
func (h *harness) wait(kind api.EventKind, sid string) api.Event {
	h.t.Helper()
	match := func(ev api.Event) bool { return ev.Kind == kind && (sid == "" || ev.SessionID == sid) }
	for i, ev := range h.backlog {
		if match(ev) {
			h.backlog = append(h.backlog[:i], h.backlog[i+1:]...)
			return ev
		}
	}
	deadline := time.Now().Add(waitFor)
	c := h.bus.Client()
	for time.Now().Before(deadline) {
		res, err := c.Do(h.ctx, c.B().Xread().Count(100).Block(1000).Streams().Key(api.EventStream).Id(h.lastID).Build()).AsXRead()
		if err != nil {
			continue // nil answer on timeout
		}
		for _, e := range res[api.EventStream] {
			h.lastID = e.ID
			var ev api.Event
			if err := json.Unmarshal([]byte(e.FieldValues[api.StreamField]), &ev); err != nil {
				h.t.Fatalf("decoding event: %v", err)
			}
			if ev.AgentID != h.cfg.ID {
				h.t.Errorf("event %s from agent %q, want %q", ev.Kind, ev.AgentID, h.cfg.ID)
			}
			if ev.Kind == api.EvFailed && kind != api.EvFailed && ev.SessionID == sid {
				h.t.Errorf("unexpected failure of %s: %s", ev.SessionID, ev.Message)
			}
			if match(ev) {
				// Keep the rest of this batch for later waits.
				return ev
			}
			if ev.Kind != api.EvHeartbeat {
				h.backlog = append(h.backlog, ev)
			}
		}
	}
	h.t.Fatalf("no %s event for session %q within %s (backlog %+v)", kind, sid, waitFor, h.backlog)
	return api.Event{}
}

func (h *harness) create(sid, image string, command ...string) {
	h.t.Helper()
	h.send(api.Command{Kind: api.CmdCreate, SessionID: sid, Spec: &api.ContainerSpec{
		SessionID: sid, Name: "s-" + sid[:6], Type: api.TypeInteractive, Image: image,
		Resources: api.Resources{CPU: 0.5, Mem: 128 << 20}, Env: map[string]string{"GREETING": "hi"}, Command: command,
	}})
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var lastErr error
	for range 50 {
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, lastErr)
	return ""
}

func TestAgent(t *testing.T) {
	h := newHarness(t)
	stop := h.start()

	hb := h.wait(api.EvHeartbeat, "")
	if a := hb.Agent; a == nil || a.ID != h.cfg.ID || a.Group != "default" || a.Address != "127.0.0.1" ||
		a.Capacity.CPU <= 0 || a.Capacity.Mem <= 0 || a.GPUInfo == "" || a.NUMANodes < 1 || a.Version != "test" {
		t.Errorf("heartbeat agent = %+v", hb.Agent)
	}
	c := h.bus.Client()
	if ttl, err := c.Do(h.ctx, c.B().Ttl().Key(api.AgentAlivePrefix+h.cfg.ID).Build()).AsInt64(); err != nil || ttl <= 0 {
		t.Errorf("alive key TTL = %d, %v", ttl, err)
	}

	web := randomHex(t, 8)
	var webPort int
	var webContainer string
	t.Run("create serves the app on its port", func(t *testing.T) {
		h.create(web, helloImage)
		h.wait(api.EvPreparing, web)
		ev := h.wait(api.EvStarted, web)
		webPort, webContainer = ev.Ports["web"], ev.ContainerID
		if webPort == 0 || webContainer == "" {
			t.Fatalf("started event = %+v", ev)
		}
		if len(ev.Apps) != 1 || ev.Apps[0] != (api.ServicePort{Name: "web", Protocol: "http", Port: 8080}) {
			t.Errorf("apps = %+v", ev.Apps)
		}
		if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", webPort)); body != "hello from berth\n" {
			t.Errorf("body = %q", body)
		}
	})

	t.Run("create is idempotent", func(t *testing.T) {
		h.create(web, helloImage)
		ev := h.wait(api.EvStarted, web)
		if ev.ContainerID != webContainer || ev.Ports["web"] != webPort {
			t.Errorf("second create = %+v, want container %s port %d", ev, webContainer, webPort)
		}
	})

	shell := randomHex(t, 8)
	t.Run("exec and logs", func(t *testing.T) {
		h.create(shell, busyboxImage, "sh", "-c", "echo started $GREETING; exec sleep 1000")
		h.wait(api.EvStarted, shell)
		tests := []struct {
			cmd            []string
			stdout, stderr string
			code           int
		}{
			{[]string{"echo", "hello"}, "hello\n", "", 0},
			{[]string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "out\n", "err\n", 3},
			{[]string{"sh", "-c", "echo $BERTH_SESSION_ID"}, shell + "\n", "", 0},
		}
		for _, tt := range tests {
			r := h.request(api.Command{Kind: api.CmdExec, SessionID: shell, Exec: &api.ExecRequest{Command: tt.cmd}})
			if r.Error != "" || r.Exec == nil {
				t.Fatalf("exec %q: reply %+v", tt.cmd, r)
			}
			if *r.Exec != (api.ExecResult{Stdout: tt.stdout, Stderr: tt.stderr, ExitCode: tt.code}) {
				t.Errorf("exec %q = %+v", tt.cmd, *r.Exec)
			}
		}
		r := h.request(api.Command{Kind: api.CmdExec, SessionID: shell, Exec: &api.ExecRequest{Command: []string{"sleep", "30"}, TimeoutSeconds: 1}})
		if !strings.Contains(r.Error, "timed out") {
			t.Errorf("exec past its timeout: reply %+v", r)
		}
		r = h.request(api.Command{Kind: api.CmdExec, SessionID: "nosuchsession", Exec: &api.ExecRequest{Command: []string{"true"}}})
		if !strings.Contains(r.Error, "no container") {
			t.Errorf("exec in a missing session: reply %+v", r)
		}
		r = h.request(api.Command{Kind: api.CmdLogs, SessionID: shell})
		if r.Logs == nil || !strings.Contains(r.Logs.Logs, "started hi") {
			t.Errorf("logs reply = %+v", r)
		}
	})

	ended := randomHex(t, 8)
	t.Run("exit is reported with code and logs", func(t *testing.T) {
		sid := ended
		h.create(sid, busyboxImage, "sh", "-c", "sleep 1; echo bye; exit 5")
		h.wait(api.EvStarted, sid)
		ev := h.wait(api.EvExited, sid)
		if ev.ExitCode == nil || *ev.ExitCode != 5 || !strings.Contains(ev.Logs, "bye") {
			t.Errorf("exited event = %+v", ev)
		}
	})

	t.Run("destroy removes", func(t *testing.T) {
		h.send(api.Command{Kind: api.CmdDestroy, SessionID: shell})
		h.wait(api.EvRemoved, shell)
		r := h.request(api.Command{Kind: api.CmdExec, SessionID: shell, Exec: &api.ExecRequest{Command: []string{"true"}}})
		if r.Error == "" {
			t.Errorf("exec after destroy: reply %+v", r)
		}
		h.send(api.Command{Kind: api.CmdDestroy, SessionID: shell}) // already gone
		h.wait(api.EvRemoved, shell)
	})

	t.Run("failures are reported", func(t *testing.T) {
		tests := []struct {
			name  string
			spec  api.ContainerSpec
			wants []string
		}{
			{"unknown image", api.ContainerSpec{Image: "localhost/berth-agenttest-nope"},
				[]string{"image localhost/berth-agenttest-nope not found on agent " + h.cfg.ID}},
			{"GPU on a node without", api.ContainerSpec{Image: busyboxImage, Resources: api.Resources{GPU: 1}},
				[]string{"asks for 1 GPUs", "0 GPUs"}},
		}
		for _, tt := range tests {
			sid := randomHex(t, 8)
			tt.spec.SessionID, tt.spec.Name = sid, "fail"
			h.send(api.Command{Kind: api.CmdCreate, SessionID: sid, Spec: &tt.spec})
			ev := h.wait(api.EvFailed, sid)
			for _, w := range tt.wants {
				if !strings.Contains(ev.Message, w) {
					t.Errorf("%s: message %q lacks %q", tt.name, ev.Message, w)
				}
			}
		}
	})

	t.Run("a restarted agent re-adopts", func(t *testing.T) {
		stop()
		h.backlog = nil
		h.start()
		ev := h.wait(api.EvAdopted, web)
		if ev.ContainerID != webContainer || ev.Ports["web"] != webPort || len(ev.Apps) != 1 || ev.Apps[0].Name != "web" {
			t.Errorf("adopted event = %+v, want container %s port %d", ev, webContainer, webPort)
		}
		if ev := h.wait(api.EvExited, ended); ev.ExitCode == nil || *ev.ExitCode != 5 {
			t.Errorf("exited event after restart = %+v", ev)
		}
		if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", webPort)); body != "hello from berth\n" {
			t.Errorf("body after restart = %q", body)
		}
		// A new session must not get the adopted session's port.
		sid := randomHex(t, 8)
		h.create(sid, helloImage)
		if p := h.wait(api.EvStarted, sid).Ports["web"]; p == webPort || p == 0 {
			t.Errorf("new session got port %d (adopted one has %d)", p, webPort)
		}
		h.send(api.Command{Kind: api.CmdDestroy, SessionID: web})
		h.wait(api.EvRemoved, web)
	})
}

// TestAgentGPURequest checks that a GPU request reaches Podman as a CDI
// device: with a GPU count set by hand on a node without an NVIDIA CDI spec,
// Podman refuses nvidia.com/gpu=0 and the session fails saying so.
func TestAgentGPURequest(t *testing.T) {
	h := newHarness(t)
	h.cfg.Capacity = api.Resources{GPU: 1}
	h.start()
	hb := h.wait(api.EvHeartbeat, "")
	if hb.Agent == nil || hb.Agent.Capacity.GPU != 1 {
		t.Fatalf("heartbeat agent = %+v, want 1 GPU", hb.Agent)
	}
	sid := randomHex(t, 8)
	h.send(api.Command{Kind: api.CmdCreate, SessionID: sid, Spec: &api.ContainerSpec{
		SessionID: sid, Name: "gpu", Image: busyboxImage, Resources: api.Resources{GPU: 1}, Command: []string{"true"},
	}})
	ev := h.wait(api.EvFailed, sid)
	if !strings.Contains(ev.Message, "nvidia.com/gpu=0") {
		t.Errorf("failure message %q does not name the CDI device", ev.Message)
	}
	sid2 := randomHex(t, 8)
	h.send(api.Command{Kind: api.CmdCreate, SessionID: sid2, Spec: &api.ContainerSpec{
		SessionID: sid2, Name: "gpu2", Image: busyboxImage, Resources: api.Resources{GPU: 2},
	}})
	if ev := h.wait(api.EvFailed, sid2); !strings.Contains(ev.Message, "asks for 2 GPUs but agent "+h.cfg.ID+" has 1") {
		t.Errorf("failure message = %q", ev.Message)
	}
}
