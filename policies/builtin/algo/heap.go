package algo

// indexHeap is a binary heap of small integers (agent or owner indices,
// heap positions), best first by less. With pos set (one slot per item
// value) it keeps pos[item] at the item's position, -1 once popped or
// removed, so an item whose key changed can be fixed where it stands.
type indexHeap[T ~int | ~uint32] struct {
	items []T
	pos   []int
	less  func(a, b T) bool
}

// init orders items (and fills pos) after they were set wholesale.
func (h *indexHeap[T]) init() {
	if h.pos != nil {
		for i, x := range h.items {
			h.pos[x] = i
		}
	}
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *indexHeap[T]) push(x T) {
	h.items = append(h.items, x)
	if h.pos != nil {
		h.pos[x] = len(h.items) - 1
	}
	h.up(len(h.items) - 1)
}

// pop removes and returns the best item.
func (h *indexHeap[T]) pop() T {
	top := h.items[0]
	h.removeAt(0)
	return top
}

// removeAt takes position i out of the heap.
func (h *indexHeap[T]) removeAt(i int) {
	last := len(h.items) - 1
	h.swap(i, last)
	if h.pos != nil {
		h.pos[h.items[last]] = -1
	}
	h.items = h.items[:last]
	if i < last {
		h.fix(i)
	}
}

// fix restores the order after the key of the item at position i changed.
func (h *indexHeap[T]) fix(i int) { h.down(h.up(i)) }

func (h *indexHeap[T]) swap(i, j int) {
	it := h.items
	it[i], it[j] = it[j], it[i]
	if h.pos != nil {
		h.pos[it[i]], h.pos[it[j]] = i, j
	}
}

func (h *indexHeap[T]) up(i int) int {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.items[i], h.items[p]) {
			break
		}
		h.swap(i, p)
		i = p
	}
	return i
}

func (h *indexHeap[T]) down(i int) {
	it := h.items
	for {
		l := 2*i + 1
		if l >= len(it) {
			return
		}
		m := l
		if r := l + 1; r < len(it) && h.less(it[r], it[l]) {
			m = r
		}
		if !h.less(it[m], it[i]) {
			return
		}
		h.swap(i, m)
		i = m
	}
}
