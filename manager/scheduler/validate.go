package scheduler

import (
	"strconv"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/policies/abi"
)

// The validators run in Go before the policy, in this order, and the first
// that objects names the reason a session waits:
//
//	request     a negative request is invalid
//	dependency  a failed dependency cancels the session; an unfinished one keeps it waiting
//	reserved    a reserved start time in the future
//	pending     the owner's max pending sessions (the newest ones over the limit wait)
//	concurrency the owner's max concurrent sessions
//	slots       the owner's total resource slots (CPU, memory, GPUs held)
//	capacity    no ALIVE agent could ever hold it, or none has it free now
//
// The concurrency and slot limits are enforced again by the re-check with
// the sessions placed earlier in the same pass counted in (ledger).

// depResult judges a session's dependencies: cancel is set when one failed
// or vanished, wait when one has not ended yet.
func depResult(in *Input, s *Pending) (cancel, wait string) {
	for _, id := range s.DependsOn {
		d, ok := in.Deps[id]
		if !ok {
			return "dependency " + id + " no longer exists", ""
		}
		name := d.Name
		if name == "" {
			name = id
		}
		switch {
		case d.Status == api.StatusTerminated && (d.Result == api.ResultSuccess || d.Type != api.TypeBatch && d.Result == ""):
			continue
		case d.Status == api.StatusTerminated || d.Result == api.ResultFailure:
			return "dependency " + name + " failed (result " + orUnknown(d.Result) + ")", ""
		case d.Status == api.StatusError || d.Status == api.StatusCancelled:
			return "dependency " + name + " failed (" + string(d.Status) + ")", ""
		case wait == "":
			wait = "waiting for dependency " + name + " to end with SUCCESS (now " + string(d.Status) + ")"
		}
	}
	return "", wait
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// reserved keeps a session with a reserved start time in the future.
func reserved(now time.Time, s *Pending) string {
	if s.StartsAt.IsZero() || now.IsZero() || !now.Before(s.StartsAt) {
		return ""
	}
	return "reserved to start at " + s.StartsAt.UTC().Format(time.RFC3339)
}

func ownerLabel(s *Pending) string {
	if s.Owner != "" {
		return s.Owner
	}
	return s.OwnerID
}

// ledger tracks what each owner holds during a pass: the placed sessions
// from the input plus the ones placed so far in this pass.
type ledger struct {
	in     *Input
	usage  map[string]abi.Resources
	active map[string]int
}

func newLedger(in *Input) *ledger {
	return &ledger{in: in, usage: map[string]abi.Resources{}, active: map[string]int{}}
}

func (l *ledger) held(owner string) (abi.Resources, int) {
	u, ok := l.usage[owner]
	if !ok {
		u = ToABI(l.in.Usage[owner])
	}
	n, ok := l.active[owner]
	if !ok {
		n = l.in.Owners[owner].Active
	}
	return u, n
}

// limit returns why placing s (asking req) would take its owner past
// their resource policy, or "".
func (l *ledger) limit(s *Pending, req abi.Resources) string {
	o, ok := l.in.Owners[s.OwnerID]
	if !ok {
		return ""
	}
	p := o.Policy
	u, n := l.held(s.OwnerID)
	if m := p.MaxConcurrentSessions; m != nil && n >= *m {
		return "max concurrent sessions " + strconv.Itoa(*m) + " reached for user " + ownerLabel(s)
	}
	slot := func(held, need, most int64, format func(int64) string, unit string) string {
		return "total resource slots of user " + ownerLabel(s) + " would be exceeded: asks " + format(need) + unit +
			", holds " + format(held) + " of " + format(most) + unit
	}
	if p.MaxCPU != nil {
		if most := (api.Resources{CPU: *p.MaxCPU}).CPUMilli(); u.CPUMilli+req.CPUMilli > most {
			return slot(u.CPUMilli, req.CPUMilli, most, formatCPU, " CPU")
		}
	}
	if p.MaxMem != nil && u.Mem+req.Mem > *p.MaxMem {
		return slot(u.Mem, req.Mem, *p.MaxMem, formatMem, " memory")
	}
	if p.MaxGPU != nil && u.GPU+req.GPU > int64(*p.MaxGPU) {
		return slot(u.GPU, req.GPU, int64(*p.MaxGPU), func(n int64) string { return strconv.FormatInt(n, 10) }, " GPU")
	}
	return ""
}

// place counts a placement in the ledger.
func (l *ledger) place(s *Pending, req abi.Resources) {
	u, n := l.held(s.OwnerID)
	l.usage[s.OwnerID] = u.Add(req)
	l.active[s.OwnerID] = n + 1
}

// pendingLimit keeps the sessions beyond an owner's max pending sessions
// (the newest) waiting; rank is the session's 0-based position among its
// owner's pending sessions, oldest first.
func (l *ledger) pendingLimit(s *Pending, rank int) string {
	o, ok := l.in.Owners[s.OwnerID]
	if !ok || o.Policy.MaxPendingSessions == nil || rank < *o.Policy.MaxPendingSessions {
		return ""
	}
	return "max pending sessions " + strconv.Itoa(*o.Policy.MaxPendingSessions) + " exceeded for user " + ownerLabel(s) +
		": waiting until older sessions start"
}
