package algo

import (
	"errors"
	"slices"
	"strconv"

	"github.com/berth-dev/berth/policies/abi"
)

// sequencer yields sessions (positions in Batch.Sessions) in the order they
// should be tried. placed is called after a session got an agent, so
// progressive sequencers (drf) can account for it.
type sequencer interface {
	next() (int, bool)
	placed(s int)
}

// bandLess orders higher priority first.
func bandLess(a, b *abi.Session) int {
	if a.Priority != b.Priority {
		if a.Priority > b.Priority {
			return -1
		}
		return 1
	}
	return 0
}

// listSequencer walks a precomputed order (fifo, lifo).
type listSequencer struct {
	order []int
	i     int
}

func (l *listSequencer) next() (int, bool) {
	if l.i >= len(l.order) {
		return 0, false
	}
	l.i++
	return l.order[l.i-1], true
}

func (l *listSequencer) placed(int) {}

// newListSequencer orders by priority band, then created_at ascending
// (fifo) or descending (lifo), then position (ascending for fifo,
// descending for lifo).
func newListSequencer(ss []abi.Session, lifo bool) *listSequencer {
	order := make([]int, len(ss))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		a, b := &ss[x], &ss[y]
		if c := bandLess(a, b); c != 0 {
			return c
		}
		c := cmpInt64(a.CreatedAt, b.CreatedAt)
		if c == 0 {
			c = cmpInt64(int64(x), int64(y))
		}
		if lifo {
			return -c
		}
		return c
	})
	return &listSequencer{order: order}
}

// drfSequencer implements dominant resource fairness: within a priority
// band it repeatedly takes the oldest waiting session of the owner whose
// dominant share (largest fraction of any cluster resource held) is lowest,
// counting sessions placed earlier in the same batch.
type drfSequencer struct {
	ss    []abi.Session
	total abi.Resources
	usage []abi.Resources // per owner, grows as sessions are placed
	share []float64       // per owner dominant share
	// queues[o] holds owner o's sessions of the current band, oldest first.
	queues [][]int
	heads  []int
	owners indexHeap[uint32] // owners with sessions left in the current band
	// bands are session positions grouped by priority, highest first.
	bands [][]int
	band  int
}

func newDRFSequencer(b *abi.Batch) (*drfSequencer, error) {
	d := &drfSequencer{
		ss:     b.Sessions,
		total:  b.Total,
		usage:  slices.Clone(b.Owners),
		share:  make([]float64, len(b.Owners)),
		queues: make([][]int, len(b.Owners)),
		heads:  make([]int, len(b.Owners)),
	}
	d.owners = indexHeap[uint32]{pos: make([]int, len(b.Owners)), less: d.ownerLess}
	for o := range d.usage {
		d.share[o] = d.dominant(d.usage[o])
	}
	order := make([]int, len(b.Sessions))
	for i := range order {
		s := &b.Sessions[i]
		if int(s.Owner) >= len(b.Owners) {
			return nil, errors.New("session " + strconv.Itoa(i) + " names unknown owner " + strconv.FormatUint(uint64(s.Owner), 10))
		}
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int {
		a, b := &d.ss[x], &d.ss[y]
		if c := bandLess(a, b); c != 0 {
			return c
		}
		if c := cmpInt64(a.CreatedAt, b.CreatedAt); c != 0 {
			return c
		}
		return cmpInt64(int64(x), int64(y))
	})
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && d.ss[order[j]].Priority == d.ss[order[i]].Priority {
			j++
		}
		d.bands = append(d.bands, order[i:j])
		i = j
	}
	d.band = -1
	return d, nil
}

func (d *drfSequencer) dominant(u abi.Resources) float64 {
	var s float64
	if d.total.CPUMilli > 0 {
		s = max(s, float64(u.CPUMilli)/float64(d.total.CPUMilli))
	}
	if d.total.Mem > 0 {
		s = max(s, float64(u.Mem)/float64(d.total.Mem))
	}
	if d.total.GPU > 0 {
		s = max(s, float64(u.GPU)/float64(d.total.GPU))
	}
	return s
}

// loadBand fills the owner queues with band d.band.
func (d *drfSequencer) loadBand() {
	for o := range d.queues {
		d.queues[o] = d.queues[o][:0]
		d.heads[o] = 0
		d.owners.pos[o] = -1
	}
	d.owners.items = d.owners.items[:0]
	for _, s := range d.bands[d.band] { // already oldest first
		o := d.ss[s].Owner
		if len(d.queues[o]) == 0 {
			d.owners.items = append(d.owners.items, o)
		}
		d.queues[o] = append(d.queues[o], s)
	}
	d.owners.init()
}

// ownerLess orders owners by dominant share, then by their oldest waiting
// session, then by owner index.
func (d *drfSequencer) ownerLess(a, b uint32) bool {
	if d.share[a] != d.share[b] {
		return d.share[a] < d.share[b]
	}
	sa, sb := d.queues[a][d.heads[a]], d.queues[b][d.heads[b]]
	if ca, cb := d.ss[sa].CreatedAt, d.ss[sb].CreatedAt; ca != cb {
		return ca < cb
	}
	return a < b
}

func (d *drfSequencer) next() (int, bool) {
	h := &d.owners
	for len(h.items) == 0 {
		d.band++
		if d.band >= len(d.bands) {
			return 0, false
		}
		d.loadBand()
	}
	o := h.items[0]
	s := d.queues[o][d.heads[o]]
	d.heads[o]++
	if d.heads[o] == len(d.queues[o]) {
		h.pop()
	} else {
		h.down(0) // its next session is younger: o only moves down
	}
	return s, true
}

// placed raises the owner's share; the owner's position in the heap only
// moves down (its share grew), so sifting it down from wherever it is
// restores the heap.
func (d *drfSequencer) placed(s int) {
	o := d.ss[s].Owner
	d.usage[o] = d.usage[o].Add(d.ss[s].Request)
	d.share[o] = d.dominant(d.usage[o])
	if i := d.owners.pos[o]; i >= 0 {
		d.owners.down(i)
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
