// Package layering checks the import rules of docs/architecture.md: manager,
// agent and caddymodules never import one another, and the leaf packages
// stay standard-library only.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/berth-dev/berth/"

func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", pkgs, err)
	}
	return strings.Fields(string(out))
}

func TestComponentsDoNotImportEachOther(t *testing.T) {
	parts := []string{"manager", "agent", "caddymodules"}
	for _, p := range parts {
		for _, d := range deps(t, "./"+p+"/...") {
			for _, other := range parts {
				if other != p && strings.HasPrefix(d, mod+other) {
					t.Errorf("%s imports %s", p, d)
				}
			}
			if strings.HasPrefix(d, mod+"cmd/") || strings.HasPrefix(d, mod+"internal/stack") {
				t.Errorf("%s imports %s", p, d)
			}
		}
	}
}

func TestLeavesAreStdlibOnly(t *testing.T) {
	for _, p := range []string{"./api", "./api/signing", "./api/apptoken", "./policies/abi"} {
		for _, d := range deps(t, p) {
			if d != mod+strings.TrimPrefix(p, "./") {
				t.Errorf("%s imports non-standard %s", p, d)
			}
		}
	}
}

func TestSchedulerIsIOFree(t *testing.T) {
	for _, d := range deps(t, "./manager/scheduler") {
		for _, banned := range []string{"github.com/jackc/", "github.com/valkey-io/", "github.com/tetratelabs/", mod + "bus", mod + "manager/database"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("manager/scheduler imports %s", d)
			}
		}
	}
}
