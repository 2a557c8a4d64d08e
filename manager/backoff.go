package manager

import "sync"

// Back-off bounds: after its first failure a group's active policy is
// skipped for minSkip passes, doubling with each further failure in a row
// up to maxSkip.
const (
	minSkip = 4
	maxSkip = 64
)

// backoff remembers, per resource group, that its active policy failed,
// so that the following passes go straight to the fallback instead of
// paying for (say) a 2-second deadline every pass. Activating or
// uploading the policy again forgets the failure.
type backoff struct {
	mu     sync.Mutex
	groups map[string]*failure
}

// failure is a group's failed active policy.
type failure struct {
	policy string
	err    string
	note   string
	streak int // failures in a row
	left   int // passes still to skip
}

func newBackoff() *backoff { return &backoff{groups: map[string]*failure{}} }

// skip reports whether this pass should skip policy for group, counting
// the pass, and returns the failure that caused it.
func (b *backoff) skip(group, policy string) (failure, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.groups[group]
	if f == nil || f.policy != policy || f.left <= 0 {
		return failure{}, false
	}
	f.left--
	return *f, true
}

// failed records that policy failed for group and returns how many passes
// it will be skipped.
func (b *backoff) failed(group, policy string, err error) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.groups[group]
	if f == nil || f.policy != policy {
		f = &failure{policy: policy}
		b.groups[group] = f
	}
	f.streak++
	f.left = min(minSkip<<min(f.streak-1, 8), maxSkip)
	if err != nil {
		f.err = err.Error()
	}
	return f.left
}

// setNote keeps the note recorded for the group's failure.
func (b *backoff) setNote(group, note string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f := b.groups[group]; f != nil {
		f.note = note
	}
}

// succeeded forgets group's failure and reports whether there was one for
// policy (it recovered).
func (b *backoff) succeeded(group, policy string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.groups[group]
	if f == nil {
		return false
	}
	delete(b.groups, group)
	return f.policy == policy
}

// reset forgets group's failure (its policy was activated).
func (b *backoff) reset(group string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.groups, group)
}

// forget forgets every group's failure of policy (a new version was
// uploaded).
func (b *backoff) forget(policy string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for g, f := range b.groups {
		if f.policy == policy {
			delete(b.groups, g)
		}
	}
}
