package builtin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestNamesAndConfig(t *testing.T) {
	names := Names()
	if len(names) != 9 {
		t.Fatalf("%d names: %v", len(names), names)
	}
	found := false
	for _, n := range names {
		if _, ok := Config(n); !ok {
			t.Errorf("Config(%q) not ok", n)
		}
		found = found || n == Default
	}
	if !found {
		t.Errorf("Default %q not among %v", Default, names)
	}
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"drf-dispersed", "sequencer=drf,selector=dispersed", true},
		{"lifo-roundrobin", "sequencer=lifo,selector=roundrobin", true},
		{"fifo", "", false},
		{"fifo-best", "", false},
		{"fifo-dispersed,selector=x", "", false},
		{"fifo-dispersed,selector=concentrated", "", false},
	}
	for _, tt := range tests {
		got, ok := Config(tt.name)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Config(%q) = %q, %v", tt.name, got, ok)
		}
	}
}

func TestWasmEmbedded(t *testing.T) {
	if !bytes.HasPrefix(Wasm, []byte("\x00asm")) {
		t.Fatal("builtin.wasm is not a Wasm module; run build.sh")
	}
}

// TestEmbeddedModuleIsCurrent rebuilds the guest the way build.sh does and
// checks that the committed builtin.wasm is what the sources give (the
// build is reproducible): run `make policies` after changing algo, sdk or
// abi.
func TestEmbeddedModuleIsCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Wasm module")
	}
	out := filepath.Join(t.TempDir(), "builtin.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./guest")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOFLAGS=", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the guest: %v\n%s", err, b)
	}
	fresh, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, Wasm) {
		t.Errorf("policies/builtin/builtin.wasm is stale (%d bytes committed, %d built): run `make policies` and commit it", len(Wasm), len(fresh))
	}
}
