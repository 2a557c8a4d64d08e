package manager_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
	"github.com/berth-dev/berth/api/signing"
	"github.com/berth-dev/berth/manager"
)

// wat assembles WAT source with wabt's wat2wasm (skipping without it).
func wat(t *testing.T, src string) []byte {
	t.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "p.wat"), filepath.Join(dir, "p.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(bin, in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// pickerWAT is a policy that first runs PREFIX, then picks sessions
// 0, 1, 2, ... onto agent 0 (at most n_sessions picks in all) and writes
// the decision with magic MAGIC at offset 0. Picks are appended with
// (call $pick (session) (agent)).
const pickerWAT = `(module
  (memory (export "memory") 2)
  (global $k (mut i32) (i32.const 0))
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param $size i32) (result i32)
    (local $need i32)
    (local.set $need (i32.div_u (i32.add (local.get $size) (i32.const 131071)) (i32.const 65536)))
    (if (i32.gt_u (local.get $need) (memory.size))
      (then (drop (memory.grow (i32.sub (local.get $need) (memory.size))))))
    (i32.const 65536))
  (func $pick (param $s i32) (param $a i32)
    (i32.store (i32.add (i32.const 16) (i32.mul (global.get $k) (i32.const 8))) (local.get $s))
    (i32.store (i32.add (i32.const 20) (i32.mul (global.get $k) (i32.const 8))) (local.get $a))
    (global.set $k (i32.add (global.get $k) (i32.const 1))))
  (func (export "berth_schedule") (param $ptr i32) (param $len i32) (result i64)
    (local $n i32) (local $i i32)
    (global.set $k (i32.const 0))
    (local.set $n (i32.load offset=8 (local.get $ptr)))
    PREFIX
    (block $done (loop $next
      (br_if $done (i32.ge_u (global.get $k) (local.get $n)))
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $pick (local.get $i) (i32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store (i32.const 0) (i32.const MAGIC))
    (i32.store (i32.const 4) (i32.const 1))
    (i32.store (i32.const 8) (global.get $k))
    (i32.store (i32.const 12) (i32.load offset=24 (local.get $ptr)))
    (i64.extend_i32_u (i32.add (i32.const 16) (i32.mul (global.get $k) (i32.const 8))))))`

func picker(prefix, magic string) string {
	return strings.NewReplacer("PREFIX", prefix, "MAGIC", magic).Replace(pickerWAT)
}

const decisionMagic = "0x44545242"

// TestHostilePolicies uploads misbehaving policies through the REST API,
// activates each, and checks that the real scheduling pass contains them:
// no agent is overcommitted, no session placed twice, and sessions keep
// being scheduled (by the fallback where the policy fails).
func TestHostilePolicies(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		fallback bool   // the policy fails: the group falls back
		reason   string // s3's waiting reason (substring)
	}{
		{"loop", picker(`(loop $spin (br $spin))`, decisionMagic), true, "no agent in group default has 1 CPU free"},
		{"bomb", picker(`(block $full (loop $grow
			(br_if $full (i32.eq (memory.grow (i32.const 64)) (i32.const -1))) (br $grow)))
			(i32.store (i32.mul (memory.size) (i32.const 65536)) (i32.const 1))`, decisionMagic), true, "has 1 CPU free"},
		{"garbage", picker(``, "0x12345678"), true, "has 1 CPU free"},
		// s3's pick is dropped in the first pass ("does not fit agent
		// a1"); later passes, with a1 full, say so without the policy.
		{"overcommit", picker(``, decisionMagic), false, "has 1 CPU free"},
		{"duplicate", picker(`(call $pick (i32.const 0) (i32.const 0))`, decisionMagic), false, "has 1 CPU free"},
		{"unknown-ids", picker(`(call $pick (i32.const 0) (i32.const 9))`, decisionMagic), false, "has 1 CPU free"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm := wat(t, tt.src)
			e := start(t, func(c *manager.Config) {
				c.PolicyDeadline = time.Second
				c.PolicyMemoryPages = 1024
			})
			events := e.subscribeAll()
			if _, err := e.admin.UploadPolicy(e.ctx, tt.name, "scheduler", wasm); err != nil {
				t.Fatalf("upload: %v", err)
			}
			if _, err := e.admin.ActivatePolicy(e.ctx, tt.name, "default"); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for i := 1; i <= 3; i++ {
				s, err := e.admin.CreateSession(e.ctx, api.CreateSessionRequest{Image: "img", Name: fmt.Sprint("s", i),
					Resources: &api.Resources{CPU: 1, Mem: 1 << 30}})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, s.ID)
			}
			// The agent joins only now, so one pass sees all three
			// sessions and the policy's picks for s3 are really checked.
			e.agent("a1", api.Resources{CPU: 2, Mem: 4 << 30})
			by := tt.name
			if tt.fallback {
				by = "fifo-dispersed"
			}
			for _, id := range ids[:2] {
				s := e.waitStatus(id, api.StatusPreparing)
				var scheduled []string
				for _, h := range s.History {
					if h.Status == api.StatusScheduled {
						scheduled = append(scheduled, h.Info)
					}
				}
				if len(scheduled) != 1 || scheduled[0] != "placed on agent a1 by policy "+by {
					t.Errorf("%s placements: %q", s.Name, scheduled)
				}
			}
			e.eventually("s3 waits with a reason", func() string {
				s, _ := e.admin.GetSession(e.ctx, ids[2])
				if s.Status != api.StatusPending || !strings.Contains(s.StatusInfo, tt.reason) {
					return fmt.Sprintf("%s %q", s.Status, s.StatusInfo)
				}
				return ""
			})
			if u := e.agentUsed("a1"); u != (api.Resources{CPU: 2, Mem: 2 << 30}) {
				t.Errorf("agent used %+v, want exactly 2 CPU, 2 GiB", u)
			}
			if tt.name == "overcommit" {
				if l := e.logs.lines("policy pick dropped by the re-check", "session="+ids[2], "does not fit agent a1"); len(l) == 0 {
					t.Errorf("no log line says s3's pick onto a1 was dropped")
				}
			}
			if !tt.fallback {
				return
			}
			ps, err := e.admin.ListPolicies(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				if p.Name == tt.name && !strings.Contains(p.Note, "fell back from "+tt.name+" to fifo-dispersed") {
					t.Errorf("policy ls note %q", p.Note)
				}
			}
			timeout := time.After(20 * time.Second)
			for {
				select {
				case ev := <-events:
					if ev.kind != "policy" {
						continue
					}
					var pe api.PolicyEvent
					if err := json.Unmarshal(ev.data, &pe); err != nil {
						t.Fatal(err)
					}
					if pe.Group != "default" || pe.Policy != tt.name || pe.Fallback != "fifo-dispersed" || pe.Error == "" {
						t.Errorf("policy event %+v", pe)
					}
					return
				case <-timeout:
					t.Fatal("no policy event")
				}
			}
		})
	}
}

// TestBadUploads checks the upload-time errors through the REST API.
func TestBadUploads(t *testing.T) {
	e := start(t)
	tests := []struct {
		name   string
		wasm   func() []byte
		status int
		detail string
	}{
		{"not wasm", func() []byte { return []byte("#!/bin/sh\necho hi\n") }, 422, "not a Wasm module (bad magic)"},
		{"missing export", func() []byte {
			return wat(t, `(module (memory (export "memory") 1) (func (export "berth_abi_version") (result i32) (i32.const 1))
				(func (export "berth_alloc") (param i32) (result i32) (i32.const 0)))`)
		}, 422, "missing export berth_schedule"},
		{"bad ABI version", func() []byte {
			return wat(t, strings.Replace(picker(``, decisionMagic), `(result i32) (i32.const 1))`, `(result i32) (i32.const 7))`, 1))
		}, 422, "unsupported ABI version 7 (this host supports 1)"},
		{"env import", func() []byte {
			return wat(t, `(module (import "env" "foo" (func)) (memory (export "memory") 1))`)
		}, 422, "import env.foo is not allowed"},
		{"empty", func() []byte { return []byte{} }, 422, "request body is empty"},
		{"100 MB", func() []byte { return make([]byte, 100<<20) }, 413, "policy module is too large: 104857600 bytes; the limit is 33554432 bytes (32 MiB)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.admin.UploadPolicy(e.ctx, "bad", "scheduler", tt.wasm())
			if !client.IsStatus(err, tt.status) || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("upload: %v; want %d %q", err, tt.status, tt.detail)
			}
		})
	}
	// Without a length the body is cut at the limit, even while the
	// signature is checked.
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/policies?name=big", &zeros{n: 100 << 20})
	req.Header.Set("Content-Type", "application/wasm")
	if err := signing.Sign(req, adminAK, adminSK, time.Now()); err != nil {
		t.Fatal(err)
	}
	req.Body, req.GetBody, req.ContentLength = io.NopCloser(&zeros{n: 100 << 20}), nil, -1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p api.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(p.Detail, "too large") {
		t.Errorf("chunked 100 MB upload: %d %q, want 413", resp.StatusCode, p.Detail)
	}
	ps, err := e.admin.ListPolicies(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if !p.Builtin {
			t.Errorf("a bad upload was stored: %+v", p)
		}
	}
}

// zeros is an io.Reader of n zero bytes.
type zeros struct{ n int }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), z.n)
	clear(p[:k])
	z.n -= k
	return k, nil
}

type sseEvent struct {
	kind string
	data []byte
}

// subscribeAll reads /events as the admin and returns every event.
func (e *env) subscribeAll() <-chan sseEvent {
	req, _ := http.NewRequestWithContext(e.ctx, "GET", e.srv.URL+"/api/v1/events", nil)
	if err := signing.Sign(req, adminAK, adminSK, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("subscribing: %v", err)
	}
	out := make(chan sseEvent, 1024)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		kind := ""
		for sc.Scan() {
			line := sc.Bytes()
			if k, ok := bytes.CutPrefix(line, []byte("event: ")); ok {
				kind = string(k)
			}
			if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
				select {
				case out <- sseEvent{kind: kind, data: bytes.Clone(d)}:
				default:
				}
			}
		}
	}()
	return out
}
