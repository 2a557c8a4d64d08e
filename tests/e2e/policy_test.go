package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
)

// spinWAT is a hostile scheduling policy: valid exports, but berth_schedule
// never returns.
const spinWAT = `(module
  (memory (export "memory") 1)
  (func (export "berth_abi_version") (result i32) (i32.const 1))
  (func (export "berth_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "berth_schedule") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))`

// TestPolicies drives issue #3's management path through a real stack: a
// policy written in WAT is uploaded, dry-run, activated and used; garbage
// is refused at upload; a hostile policy is contained and the group falls
// back while sessions keep being scheduled.
func TestPolicies(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm (wabt) not installed")
	}
	s := newStack(t)
	dir := t.TempDir()
	firstfit := assemble(t, filepath.Join(repoRoot, "examples/policy-wat/firstfit.wat"), dir)

	var p api.Policy
	s.mustJSON(&p, "policy", "upload", firstfit, "--name", "firstfit", "--kind", "scheduler")
	if p.Version != 1 || len(p.Hash) != 64 {
		t.Errorf("uploaded policy = %+v, want version 1 with a sha256", p)
	}
	var ps []api.Policy
	s.mustJSON(&ps, "policy", "ls")
	names := map[string]bool{}
	for _, x := range ps {
		names[x.Name] = true
	}
	for _, n := range []string{"firstfit", "fifo-dispersed", "drf-concentrated", "lifo-roundrobin"} {
		if !names[n] {
			t.Errorf("policy ls lacks %s", n)
		}
	}

	var dry map[string]any
	s.mustJSON(&dry, "policy", "dryrun", "firstfit", "--group", "default")
	if _, ok := dry["decide_ms"]; !ok {
		t.Errorf("dryrun answer lacks decide_ms: %v", dry)
	}

	var g api.Group
	s.mustJSON(&g, "policy", "activate", "firstfit", "--group", "default")
	var sess api.Session
	s.mustJSON(&sess, "session", "create", "--image", "localhost/berth-hello", "--name", "ff", "--wait")
	s.mustJSON(&sess, "session", "info", "ff")
	if !historyMentions(sess, api.StatusScheduled, "firstfit") {
		t.Errorf("ff was not placed by firstfit: %+v", sess.History)
	}

	// garbage is refused at upload with a clear error
	junk := filepath.Join(dir, "junk.wasm")
	os.WriteFile(junk, []byte("#!/bin/sh\necho not wasm\n"), 0o644)
	_, errOut, code := s.berth("policy", "upload", junk, "--name", "junk", "--kind", "scheduler")
	if code == 0 || !strings.Contains(strings.ToLower(errOut), "wasm") {
		t.Errorf("junk upload: exit %d %q, want an error about Wasm", code, errOut)
	}

	// a policy that never returns is cut off; the group falls back and
	// sessions keep being scheduled
	spinSrc := filepath.Join(dir, "spin.wat")
	os.WriteFile(spinSrc, []byte(spinWAT), 0o644)
	spin := assemble(t, spinSrc, dir)
	s.mustJSON(&p, "policy", "upload", spin, "--name", "spin", "--kind", "scheduler")
	s.mustJSON(&g, "policy", "activate", "spin", "--group", "default")
	var after api.Session
	s.mustJSON(&after, "session", "create", "--image", "localhost/berth-hello", "--name", "after-spin", "--wait")
	if after.Status != api.StatusRunning {
		t.Fatalf("session under a hostile policy: %s (%s)", after.Status, after.StatusInfo)
	}
	eventually(t, 30*time.Second, "policy ls shows the fallback", func() error {
		s.mustJSON(&ps, "policy", "ls")
		for _, x := range ps {
			if x.Name == "spin" && strings.Contains(x.Note, "fell back") {
				return nil
			}
		}
		return fmt.Errorf("no fallback note on spin: %+v", ps)
	})
	s.mustJSON(&g, "policy", "activate", "drf-dispersed", "--group", "default")
	s.berth("session", "rm", "ff")
	s.berth("session", "rm", "after-spin")
}

func assemble(t *testing.T, src, dir string) string {
	t.Helper()
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".wat")+".wasm")
	if b, err := exec.Command("wat2wasm", src, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", src, err, b)
	}
	return out
}

func historyMentions(s api.Session, status api.SessionStatus, word string) bool {
	for _, h := range s.History {
		if h.Status == status && strings.Contains(h.Info, word) {
			return true
		}
	}
	return false
}
