package manager

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/manager/database"
	"github.com/berth-dev/berth/manager/httpapi"
	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/policies/builtin"
)

// builtinHash is the module hash of the built-in policies.
func builtinHash() string {
	h := sha256.Sum256(builtin.Wasm)
	return hex.EncodeToString(h[:])
}

// loadPolicy returns the compiled scheduler policy name (built-in or the
// latest stored version) and its config string. Modules are compiled
// once per hash.
func (m *Manager) loadPolicy(ctx context.Context, name string) (scheduler.Policy, string, error) {
	if cfg, ok := builtin.Config(name); ok {
		p, err := m.compiled(ctx, builtinHash(), func() ([]byte, error) { return builtin.Wasm, nil })
		return p, cfg, err
	}
	meta, err := m.db.PolicyMeta(ctx, name)
	if err != nil {
		return nil, "", err
	}
	if meta.Kind != api.PolicyScheduler {
		return nil, "", fmt.Errorf("policy %s is an %s policy, not a scheduler policy", name, meta.Kind)
	}
	p, err := m.compiled(ctx, meta.Hash, func() ([]byte, error) {
		_, wasm, err := m.db.PolicyWasm(ctx, name)
		return wasm, err
	})
	return p, "", err
}

func (m *Manager) compiled(ctx context.Context, hash string, load func() ([]byte, error)) (scheduler.Policy, error) {
	m.mu.Lock()
	p, ok := m.modules[hash]
	m.mu.Unlock()
	if ok {
		return p, nil
	}
	wasm, err := load()
	if err != nil {
		return nil, err
	}
	mod, err := m.host.Compile(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("compiling policy module: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.modules[hash]; ok {
		_ = mod.Close(ctx)
		return prev, nil
	}
	m.modules[hash] = mod
	return mod, nil
}

// Policies lists the built-in policies and the latest version of each
// stored one, with the groups where each is active and any fallback note.
func (m *Manager) Policies(ctx context.Context) ([]api.Policy, error) {
	groups, err := m.db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := m.db.Policies(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.Policy{}
	hash := builtinHash()
	for _, n := range builtin.Names() {
		out = append(out, api.Policy{Name: n, Kind: api.PolicyScheduler, Version: 1, Hash: hash, Size: len(builtin.Wasm), Builtin: true})
	}
	out = append(out, stored...)
	for i := range out {
		out[i].Groups = nil
		for _, g := range groups {
			if g.Policy != out[i].Name {
				continue
			}
			out[i].Groups = append(out[i].Groups, g.Name)
			if g.PolicyNote != "" {
				out[i].Note = g.Name + ": " + g.PolicyNote
			}
		}
	}
	return out, nil
}

// UploadPolicy validates a module (scheduler modules are compiled and
// checked against the ABI) and stores it as the next version of name.
func (m *Manager) UploadPolicy(ctx context.Context, name, kind string, wasm []byte) (api.Policy, error) {
	if _, ok := builtin.Config(name); ok {
		return api.Policy{}, httpapi.Errorf(http.StatusConflict, "policy name %s is taken by a built-in policy", name)
	}
	if prev, err := m.db.PolicyMeta(ctx, name); err == nil && prev.Kind != kind {
		return api.Policy{}, httpapi.Errorf(http.StatusConflict, "policy %s is an %s policy; upload a %s policy under another name", name, prev.Kind, kind)
	}
	switch kind {
	case api.PolicyScheduler:
		sum := sha256.Sum256(wasm)
		if _, err := m.compiled(ctx, hex.EncodeToString(sum[:]), func() ([]byte, error) { return wasm, nil }); err != nil {
			return api.Policy{}, httpapi.Errorf(http.StatusUnprocessableEntity, "invalid scheduler policy: %v", errors.Unwrap(err))
		}
	default:
		// TODO: validate auth policies against their ABI once the host has one.
		if !bytes.HasPrefix(wasm, []byte("\x00asm")) {
			return api.Policy{}, httpapi.Errorf(http.StatusUnprocessableEntity, "invalid %s policy: not a Wasm module (bad magic)", kind)
		}
	}
	p, err := m.db.StorePolicy(ctx, name, kind, wasm)
	if err != nil {
		return api.Policy{}, err
	}
	m.backoff.forget(name)
	m.log.Info("stored policy", "name", name, "kind", kind, "version", p.Version, "hash", p.Hash)
	return p, nil
}

// ActivatePolicy makes scheduler policy name active for group from the
// next pass on; the previous one becomes the fallback.
func (m *Manager) ActivatePolicy(ctx context.Context, name, group string) (api.Group, error) {
	if err := m.checkPolicyAndGroup(ctx, name, group); err != nil {
		return api.Group{}, err
	}
	g, err := m.db.ActivatePolicy(ctx, group, name)
	if err != nil {
		return api.Group{}, err
	}
	m.backoff.reset(group)
	m.log.Info("activated policy", "policy", name, "group", group, "fallback", g.FallbackPolicy)
	return g, nil
}

func (m *Manager) checkPolicyAndGroup(ctx context.Context, name, group string) error {
	if _, err := m.db.Group(ctx, group); errors.Is(err, database.ErrNotFound) {
		return httpapi.Errorf(http.StatusUnprocessableEntity, "unknown resource group %q", group)
	} else if err != nil {
		return err
	}
	if _, ok := builtin.Config(name); ok {
		return nil
	}
	meta, err := m.db.PolicyMeta(ctx, name)
	if errors.Is(err, database.ErrNotFound) {
		return httpapi.Errorf(http.StatusNotFound, "no policy %q", name)
	}
	if err != nil {
		return err
	}
	if meta.Kind != api.PolicyScheduler {
		return httpapi.Errorf(http.StatusUnprocessableEntity, "policy %s is an %s policy, not a scheduler policy", name, meta.Kind)
	}
	return nil
}

// DryRun runs one pass of policy name on group's live state and reports
// what it would do, committing nothing.
func (m *Manager) DryRun(ctx context.Context, name, group string) (api.DryRun, error) {
	if err := m.checkPolicyAndGroup(ctx, name, group); err != nil {
		return api.DryRun{}, err
	}
	snap, err := m.db.Snapshot(ctx, group)
	if err != nil {
		return api.DryRun{}, err
	}
	start := time.Now()
	plan, err := m.plan(ctx, name, snap)
	if err != nil {
		return api.DryRun{}, httpapi.Errorf(http.StatusUnprocessableEntity, "policy %s failed after %s: %v", name, time.Since(start).Round(time.Millisecond), err)
	}
	out := api.DryRun{Policy: name, Waiting: plan.Waiting, Placements: []api.DryRunPlacement{},
		DecideMS: float64(plan.DecideTime.Microseconds()) / 1000}
	if out.Waiting == nil {
		out.Waiting = map[string]string{}
	}
	for _, p := range plan.Placements {
		out.Placements = append(out.Placements, api.DryRunPlacement{SessionID: p.SessionID, AgentID: p.AgentID, Request: p.Request})
	}
	for _, d := range plan.Dropped {
		out.Dropped = append(out.Dropped, api.DryRunDropped{SessionID: d.SessionID, AgentID: d.AgentID, Reason: d.Reason})
	}
	return out, nil
}
