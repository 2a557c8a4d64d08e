package manager

import (
	"errors"
	"testing"
)

func TestBackoff(t *testing.T) {
	b := newBackoff()
	if _, ok := b.skip("g", "p"); ok {
		t.Fatal("skips a policy that never failed")
	}
	boom := errors.New("boom")
	tests := []struct {
		name      string
		wantSkips int
	}{
		{"first failure", minSkip},
		{"second failure in a row", 2 * minSkip},
		{"third", 4 * minSkip},
	}
	for _, tt := range tests {
		if n := b.failed("g", "p", boom); n != tt.wantSkips {
			t.Fatalf("%s: skip %d passes, want %d", tt.name, n, tt.wantSkips)
		}
		for i := range tt.wantSkips {
			f, ok := b.skip("g", "p")
			if !ok || f.err != "boom" {
				t.Fatalf("%s: pass %d not skipped (%+v)", tt.name, i, f)
			}
		}
		if _, ok := b.skip("g", "p"); ok {
			t.Fatalf("%s: still skipping after %d passes", tt.name, tt.wantSkips)
		}
	}
	for range 10 {
		b.failed("g", "p", boom)
	}
	if n := b.failed("g", "p", boom); n != maxSkip {
		t.Errorf("skip capped at %d, want %d", n, maxSkip)
	}
	if _, ok := b.skip("g", "other"); ok {
		t.Error("skips another policy of the group")
	}
	if _, ok := b.skip("h", "p"); ok {
		t.Error("skips the policy in another group")
	}
	if !b.succeeded("g", "p") || b.succeeded("g", "p") {
		t.Error("succeeded should report the recovery once")
	}
	b.failed("g", "p", boom)
	b.reset("g")
	if _, ok := b.skip("g", "p"); ok {
		t.Error("skips after activation")
	}
	b.failed("g", "p", boom)
	b.failed("h", "p", boom)
	b.forget("p")
	if _, ok := b.skip("g", "p"); ok {
		t.Error("skips after a new upload")
	}
}
