package manager_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
	"github.com/berth-dev/berth/manager"
)

// trapWAT is a policy that passes validation but traps on every call.
const trapWAT = `(module
  (memory (export "memory") 1)
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "berth_schedule") (param i32 i32) (result i64) unreachable))`

func TestPolicyFallback(t *testing.T) {
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "trap.wat")
	if err := os.WriteFile(src, []byte(trapWAT), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, src, "-o", filepath.Join(dir, "trap.wasm")).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v %s", err, out)
	}
	wasm, _ := os.ReadFile(filepath.Join(dir, "trap.wasm"))

	e := start(t)
	p, err := e.admin.UploadPolicy(e.ctx, "trap", "scheduler", wasm)
	if err != nil || p.Version != 1 || p.Size != len(wasm) || len(p.Hash) != 64 {
		t.Fatalf("upload = %+v, %v", p, err)
	}
	if p, err := e.admin.UploadPolicy(e.ctx, "trap", "scheduler", wasm); err != nil || p.Version != 2 {
		t.Fatalf("second upload = %+v, %v", p, err)
	}
	if _, err := e.admin.ActivatePolicy(e.ctx, "trap", "default"); err != nil {
		t.Fatal(err)
	}
	a := e.agent("a1", api.Resources{CPU: 16, Mem: 32 << 30})
	if _, err := e.admin.DryRun(e.ctx, "trap", "default"); err != nil {
		t.Fatalf("dry run with nothing pending: %v", err)
	}
	// The dry run must find a session pending, but the real pass (the trap
	// fails, the fallback places) may take it first: then try a new one.
	var s api.Session
	for i := 1; ; i++ {
		s, err = e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: fmt.Sprint("fb", i)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.admin.DryRun(e.ctx, "trap", "default")
		if client.IsStatus(err, 422) {
			break
		}
		if err != nil || i == 10 {
			t.Fatalf("dry run of a trapping policy: %v", err)
		}
	}
	a.next(api.CmdCreate, s.ID)
	got := e.waitStatus(s.ID, api.StatusPreparing)
	if got.History[1].Info != "placed on agent a1 by policy fifo-dispersed" {
		t.Errorf("placement info %q", got.History[1].Info)
	}
	gs, err := e.admin.ListGroups(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs[0].Policy != "trap" || !strings.Contains(gs[0].PolicyNote, "fell back from trap") {
		t.Errorf("group after fallback = %+v", gs[0])
	}
}

func TestAgentLostAndAdopted(t *testing.T) {
	e := start(t, func(c *manager.Config) { c.AgentLostAfter = 2 * time.Second })
	a := e.agent("a1", api.Resources{CPU: 2, Mem: 2 << 30})
	// Heartbeat until the session runs, then fall silent.
	stop := make(chan struct{})
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				// Not a.send: t.Fatal must not run outside the test goroutine.
				_ = e.bus.Publish(e.ctx, api.EventStream, api.Event{Kind: api.EvHeartbeat, AgentID: "a1", At: time.Now(),
					Agent: &api.Agent{ID: "a1", Address: "127.0.0.1", Group: "default", Capacity: api.Resources{CPU: 2, Mem: 2 << 30}}})
			}
		}
	}()
	s, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	a.next(api.CmdCreate, s.ID)
	a.send(api.Event{Kind: api.EvStarted, SessionID: s.ID, ContainerID: "c"})
	e.waitStatus("keep", api.StatusRunning)
	close(stop)
	<-beating
	agentStatus := func(want string) func() string {
		return func() string {
			as, err := e.admin.ListAgents(e.ctx)
			if err != nil {
				return err.Error()
			}
			if len(as) != 1 || as[0].Status != want {
				return fmt.Sprintf("agents %+v", as)
			}
			return ""
		}
	}
	e.eventually("agent LOST", agentStatus(api.AgentLost))
	if s, _ := e.admin.GetSession(e.ctx, "keep"); s.Status != api.StatusRunning {
		t.Errorf("session of a lost agent became %s", s.Status)
	}
	// The agent comes back and re-adopts its container.
	a.send(api.Event{Kind: api.EvHeartbeat, Agent: &api.Agent{ID: "a1", Address: "127.0.0.1", Group: "default", Capacity: api.Resources{CPU: 2, Mem: 2 << 30}}})
	a.send(api.Event{Kind: api.EvAdopted, SessionID: s.ID, ContainerID: "c"})
	e.eventually("re-adopted", func() string {
		s, _ := e.admin.GetSession(e.ctx, "keep")
		if s.StatusInfo != "re-adopted by agent a1 after restart" {
			return s.StatusInfo
		}
		return ""
	})
}
