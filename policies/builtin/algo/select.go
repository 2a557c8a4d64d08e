package algo

import "github.com/berth-dev/berth/policies/abi"

// scoreOne is the fixed-point unit of a free fraction (2^20 = all free).
const scoreOne = 1 << 20

// ledger is the agents' free capacity, updated as sessions are placed
// within one batch so two sessions never take the room for one.
type ledger struct {
	cpu, mem, gpu []int64
	capCPU        []int64
	capMem        []int64
	// score is how free an agent is: the mean of its free CPU and free
	// memory fractions, in units of 1/scoreOne. GPUs only constrain.
	score []int64
}

func newLedger(agents []abi.Agent) *ledger {
	n := len(agents)
	l := &ledger{
		cpu: make([]int64, n), mem: make([]int64, n), gpu: make([]int64, n),
		capCPU: make([]int64, n), capMem: make([]int64, n), score: make([]int64, n),
	}
	for i, a := range agents {
		f := a.Free()
		l.cpu[i], l.mem[i], l.gpu[i] = f.CPUMilli, f.Mem, f.GPU
		l.capCPU[i], l.capMem[i] = a.Capacity.CPUMilli, a.Capacity.Mem
		l.rescore(i)
	}
	return l
}

func (l *ledger) rescore(a int) {
	l.score[a] = (fraction(l.cpu[a], l.capCPU[a]) + fraction(l.mem[a], l.capMem[a])) / 2
}

// fraction returns free/capacity in units of 1/scoreOne (0 without
// capacity). Division by parts keeps free*scoreOne from overflowing.
func fraction(free, capacity int64) int64 {
	if capacity <= 0 {
		return 0
	}
	q, r := free/capacity, free%capacity
	return q*scoreOne + r*scoreOne/capacity
}

func (l *ledger) fits(a int, r abi.Resources) bool {
	return r.CPUMilli <= l.cpu[a] && r.Mem <= l.mem[a] && r.GPU <= l.gpu[a]
}

func (l *ledger) take(a int, r abi.Resources) {
	l.cpu[a] -= r.CPUMilli
	l.mem[a] -= r.Mem
	l.gpu[a] -= r.GPU
	l.rescore(a)
}

// roomier reports whether agent a is freer than agent b (higher score,
// then the lower index).
func (l *ledger) roomier(a, b int) bool {
	if l.score[a] != l.score[b] {
		return l.score[a] > l.score[b]
	}
	return a < b
}

// tighter reports whether agent a is fuller than agent b (lower score,
// then the lower index).
func (l *ledger) tighter(a, b int) bool {
	if l.score[a] != l.score[b] {
		return l.score[a] < l.score[b]
	}
	return a < b
}

// selector picks an agent for a request, or -1; take records the placement.
type selector interface {
	pick(r abi.Resources) int
	take(a int, r abi.Resources)
}

// ranked picks the best fitting agent by an order: the roomiest
// (dispersed: spread) or the fullest (concentrated: pack). A heap of agents
// in that order makes the common case (the best agent fits) O(log n). When
// it does not fit, a best-first walk of the heap visits agents in order and
// stops at the first that fits; after maxWalk visits it scans all agents.
// Agents that cannot hold even the smallest request of the batch are
// evicted from the top of the heap for good (free room only shrinks).
type ranked struct {
	l      *ledger
	better func(a, b int) bool
	agents indexHeap[int] // agents still in the running, best first
	walk   indexHeap[int] // positions in agents still to visit, best first
	least  abi.Resources
}

// maxWalk bounds the best-first walk before falling back to a full scan.
const maxWalk = 64

func newRanked(l *ledger, better func(a, b int) bool, sessions []abi.Session) *ranked {
	n := len(l.cpu)
	d := &ranked{l: l, better: better}
	d.agents = indexHeap[int]{items: make([]int, n), pos: make([]int, n), less: better}
	for i := range d.agents.items {
		d.agents.items[i] = i
	}
	d.agents.init()
	d.walk = indexHeap[int]{less: func(p, q int) bool { return better(d.agents.items[p], d.agents.items[q]) }}
	for i, s := range sessions {
		if i == 0 {
			d.least = s.Request
			continue
		}
		d.least.CPUMilli = min(d.least.CPUMilli, s.Request.CPUMilli)
		d.least.Mem = min(d.least.Mem, s.Request.Mem)
		d.least.GPU = min(d.least.GPU, s.Request.GPU)
	}
	return d
}

func (d *ranked) pick(r abi.Resources) int {
	h := &d.agents
	for len(h.items) > 0 && !d.l.fits(h.items[0], d.least) {
		h.removeAt(0)
	}
	if len(h.items) == 0 {
		return -1
	}
	if top := h.items[0]; d.l.fits(top, r) {
		return top
	}
	d.walk.items = d.walk.items[:0]
	d.pushWalk(1)
	d.pushWalk(2)
	for range maxWalk {
		if len(d.walk.items) == 0 {
			return -1 // visited every agent
		}
		p := d.walk.pop()
		if a := h.items[p]; d.l.fits(a, r) {
			return a
		}
		d.pushWalk(2*p + 1)
		d.pushWalk(2*p + 2)
	}
	best := -1
	for _, a := range h.items {
		if d.l.fits(a, r) && (best < 0 || d.better(a, best)) {
			best = a
		}
	}
	return best
}

func (d *ranked) take(a int, r abi.Resources) {
	d.l.take(a, r)
	d.agents.fix(d.agents.pos[a])
}

// pushWalk adds position p of the agents heap (if it exists) to the walk.
func (d *ranked) pushWalk(p int) {
	if p < len(d.agents.items) {
		d.walk.push(p)
	}
}

// roundRobin takes the first fitting agent at or after the cursor and
// moves the cursor past it.
type roundRobin struct {
	l      *ledger
	cursor int
}

func (rr *roundRobin) pick(r abi.Resources) int {
	n := len(rr.l.cpu)
	for k := range n {
		a := (rr.cursor + k) % n
		if rr.l.fits(a, r) {
			return a
		}
	}
	return -1
}

func (rr *roundRobin) take(a int, r abi.Resources) {
	rr.l.take(a, r)
	rr.cursor = (a + 1) % len(rr.l.cpu)
}
