package edge

import (
	"sync"

	"github.com/berth-dev/berth/api"
)

// Table is the in-memory route table: host label → Route, and edge port →
// Route for port-mapping mode. It is safe for concurrent use.
type Table struct {
	mu      sync.RWMutex
	byLabel map[string]api.Route
	byPort  map[int]string // edge port → host label
}

// NewTable returns an empty table.
func NewTable() *Table {
	return &Table{byLabel: map[string]api.Route{}, byPort: map[int]string{}}
}

// ByLabel returns the route of the app with host label label.
func (t *Table) ByLabel(label string) (api.Route, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	r, ok := t.byLabel[label]
	return r, ok
}

// ByPort returns the route of the app published on edge port port.
func (t *Table) ByPort(port int) (api.Route, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	label, ok := t.byPort[port]
	if !ok {
		return api.Route{}, false
	}
	r, ok := t.byLabel[label]
	return r, ok
}

// Len returns the number of routes.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byLabel)
}

// Put adds or replaces the route under label.
func (t *Table) Put(label string, r api.Route) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(label)
	t.byLabel[label] = r
	if r.EdgePort > 0 {
		t.byPort[r.EdgePort] = label
	}
}

// Remove drops the route under label, if any.
func (t *Table) Remove(label string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(label)
}

func (t *Table) removeLocked(label string) {
	old, ok := t.byLabel[label]
	if !ok {
		return
	}
	delete(t.byLabel, label)
	if old.EdgePort > 0 && t.byPort[old.EdgePort] == label {
		delete(t.byPort, old.EdgePort)
	}
}

// Replace swaps the whole table for routes (host label → Route).
func (t *Table) Replace(routes map[string]api.Route) {
	byLabel := make(map[string]api.Route, len(routes))
	byPort := make(map[int]string)
	for label, r := range routes {
		byLabel[label] = r
		if r.EdgePort > 0 {
			byPort[r.EdgePort] = label
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byLabel, t.byPort = byLabel, byPort
}
