package builtin

import (
	"bytes"
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
