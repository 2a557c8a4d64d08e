package algo

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/berth-dev/berth/policies/abi"
)

func res(cpu float64, memGiB, gpu int64) abi.Resources {
	return abi.Resources{CPUMilli: int64(cpu * 1000), Mem: memGiB << 30, GPU: gpu}
}

func agents(caps ...abi.Resources) []abi.Agent {
	as := make([]abi.Agent, len(caps))
	for i, c := range caps {
		as[i] = abi.Agent{Index: uint32(i), Capacity: c}
	}
	return as
}

type sess struct {
	prio    int32
	owner   uint32
	created int64
	req     abi.Resources
}

func batch(cfg string, as []abi.Agent, owners []abi.Resources, ss ...sess) *abi.Batch {
	b := &abi.Batch{Config: cfg, Agents: as, Owners: owners}
	if b.Owners == nil {
		b.Owners = make([]abi.Resources, 4)
	}
	for i, s := range ss {
		b.Sessions = append(b.Sessions, abi.Session{Index: uint32(i), Priority: s.prio, Owner: s.owner, CreatedAt: s.created, Request: s.req})
	}
	for _, a := range as {
		b.Total = b.Total.Add(a.Capacity)
	}
	return b
}

func TestDecide(t *testing.T) {
	one := res(1, 1, 0)
	tests := []struct {
		name   string
		b      *abi.Batch
		want   []abi.Pick
		cursor uint32
	}{
		{
			name: "dispersed prefers the agent with most free CPU and memory on average",
			b: func() *abi.Batch {
				as := agents(res(64, 64, 0), res(8, 64, 0))
				as[0].Used = res(0, 60, 0) // 100% CPU but 6% memory free
				return batch("", as, nil, sess{req: one})
			}(),
			want: []abi.Pick{{Session: 0, Agent: 1}},
		},
		{
			name: "fifo dispersed spreads",
			b:    batch("", agents(res(4, 8, 0), res(4, 8, 0)), nil, sess{created: 1, req: one}, sess{created: 2, req: one}, sess{created: 3, req: one}),
			want: []abi.Pick{{Session: 0, Agent: 0}, {Session: 1, Agent: 1}, {Session: 2, Agent: 0}},
		},
		{
			name: "fifo concentrated packs",
			b:    batch("selector=concentrated", agents(res(4, 8, 0), res(4, 8, 0)), nil, sess{created: 1, req: one}, sess{created: 2, req: one}, sess{created: 3, req: one}),
			want: []abi.Pick{{Session: 0, Agent: 0}, {Session: 1, Agent: 0}, {Session: 2, Agent: 0}},
		},
		{
			name: "concentrated prefers the fuller agent that fits",
			b: func() *abi.Batch {
				as := agents(res(8, 8, 0), res(8, 8, 0), res(8, 8, 0))
				as[1].Used, as[2].Used = res(6, 4, 0), res(7.5, 4, 0)
				return batch("selector=concentrated", as, nil, sess{req: one})
			}(),
			want: []abi.Pick{{Session: 0, Agent: 1}},
		},
		{
			name: "roundrobin from cursor",
			b: func() *abi.Batch {
				b := batch("selector=roundrobin", agents(res(4, 8, 0), res(4, 8, 0), res(4, 8, 0)), nil, sess{created: 1, req: one}, sess{created: 2, req: one})
				b.Cursor = 2
				return b
			}(),
			want:   []abi.Pick{{Session: 0, Agent: 2}, {Session: 1, Agent: 0}},
			cursor: 1,
		},
		{
			name: "lifo newest first",
			b:    batch("sequencer=lifo", agents(res(1, 8, 0)), nil, sess{created: 1, req: one}, sess{created: 2, req: one}),
			want: []abi.Pick{{Session: 1, Agent: 0}},
		},
		{
			name: "priority band first",
			b:    batch("", agents(res(1, 8, 0)), nil, sess{created: 1, req: one}, sess{prio: 5, created: 9, req: one}),
			want: []abi.Pick{{Session: 1, Agent: 0}},
		},
		{
			name: "no two sessions in the room for one",
			b:    batch("", agents(res(4, 8, 0)), nil, sess{created: 1, req: res(3, 1, 0)}, sess{created: 2, req: res(3, 1, 0)}, sess{created: 3, req: res(1, 1, 0)}),
			want: []abi.Pick{{Session: 0, Agent: 0}, {Session: 2, Agent: 0}},
		},
		{
			name: "gpu must fit",
			b:    batch("", agents(res(8, 8, 0), res(2, 8, 1)), nil, sess{req: res(1, 1, 1)}, sess{created: 1, req: res(1, 1, 1)}),
			want: []abi.Pick{{Session: 0, Agent: 1}},
		},
		{
			name: "drf lowest dominant share first",
			b: batch("sequencer=drf", agents(res(10, 100, 0)), []abi.Resources{res(5, 0, 0), res(0, 10, 0)},
				sess{owner: 0, created: 1, req: res(1, 1, 0)}, sess{owner: 1, created: 2, req: res(1, 1, 0)}),
			want: []abi.Pick{{Session: 1, Agent: 0}, {Session: 0, Agent: 0}},
		},
		{
			name: "drf alternates as shares grow",
			b: batch("sequencer=drf", agents(res(10, 100, 0)), []abi.Resources{{}, {}},
				sess{owner: 0, created: 1, req: res(1, 1, 0)}, sess{owner: 0, created: 2, req: res(1, 1, 0)},
				sess{owner: 0, created: 3, req: res(1, 1, 0)}, sess{owner: 1, created: 4, req: res(1, 1, 0)},
				sess{owner: 1, created: 5, req: res(1, 1, 0)}),
			want: []abi.Pick{{Session: 0, Agent: 0}, {Session: 3, Agent: 0}, {Session: 1, Agent: 0}, {Session: 4, Agent: 0}, {Session: 2, Agent: 0}},
		},
		{
			name: "no agents",
			b:    batch("sequencer=drf,selector=roundrobin", nil, nil, sess{req: one}),
			want: []abi.Pick{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Decide(tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Picks) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(d.Picks, tt.want) {
				t.Fatalf("picks %v, want %v", d.Picks, tt.want)
			}
			if tt.cursor != 0 && d.Cursor != tt.cursor {
				t.Fatalf("cursor %d, want %d", d.Cursor, tt.cursor)
			}
		})
	}
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		in      string
		want    Config
		wantErr bool
	}{
		{"", DefaultConfig, false},
		{"sequencer=drf, selector=roundrobin", Config{Sequencer: DRF, Selector: RoundRobin}, false},
		{"selector=concentrated", Config{Sequencer: FIFO, Selector: Concentrated}, false},
		{"sequencer=random", Config{}, true},
		{"selector=x", Config{}, true},
		{"speed=fast", Config{}, true},
		{"drf", Config{}, true},
	}
	for _, tt := range tests {
		got, err := ParseConfig(tt.in)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%q: err %v", tt.in, err)
		}
		if !tt.wantErr && got != tt.want {
			t.Fatalf("%q: got %+v", tt.in, got)
		}
	}
}

// TestRandomInvariants checks every combination on random batches: no
// session twice, no agent overcommitted, and dispersed/concentrated choose
// exactly what a brute-force scan would.
func TestRandomInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 200 {
		b := randomBatch(rng, 1+rng.IntN(30), rng.IntN(60), 1+rng.IntN(5))
		for _, seqName := range Sequencers() {
			for _, selName := range Selectors() {
				cfg := Config{Sequencer: seqName, Selector: selName}
				d, err := Run(cfg, b)
				if err != nil {
					t.Fatal(err)
				}
				free := make([]abi.Resources, len(b.Agents))
				for i, a := range b.Agents {
					free[i] = a.Free()
				}
				seen := map[uint32]bool{}
				for _, p := range d.Picks {
					if seen[p.Session] {
						t.Fatalf("iter %d %v: session %d twice", iter, cfg, p.Session)
					}
					seen[p.Session] = true
					req := b.Sessions[p.Session].Request
					if !req.Fits(free[p.Agent]) {
						t.Fatalf("iter %d %v: overcommit agent %d", iter, cfg, p.Agent)
					}
					if want := bruteForce(selName, b, free, req); selName != RoundRobin && want != int(p.Agent) {
						t.Fatalf("iter %d %v: picked agent %d, brute force %d", iter, cfg, p.Agent, want)
					}
					free[p.Agent] = free[p.Agent].Sub(req)
				}
				// Every unplaced session must fit nowhere now.
				for i, s := range b.Sessions {
					if seen[uint32(i)] {
						continue
					}
					for a := range free {
						if s.Request.Fits(free[a]) {
							t.Fatalf("iter %d %v: session %d left out although agent %d fits", iter, cfg, i, a)
						}
					}
				}
			}
		}
	}
}

func bruteForce(sel string, b *abi.Batch, free []abi.Resources, req abi.Resources) int {
	as := make([]abi.Agent, len(free))
	for i := range as {
		as[i] = abi.Agent{Capacity: b.Agents[i].Capacity, Used: b.Agents[i].Capacity.Sub(free[i])}
	}
	l := newLedger(as)
	best := -1
	for a := range free {
		if !l.fits(a, req) {
			continue
		}
		if best < 0 || (sel == Dispersed && l.roomier(a, best)) || (sel == Concentrated && l.tighter(a, best)) {
			best = a
		}
	}
	return best
}

func randomBatch(rng *rand.Rand, nAgents, nSessions, nOwners int) *abi.Batch {
	b := &abi.Batch{Owners: make([]abi.Resources, nOwners), Cursor: uint32(rng.IntN(nAgents + 1))}
	for i := range nAgents {
		c := res(float64(1+rng.IntN(8)), int64(1+rng.IntN(16)), int64(rng.IntN(3)))
		u := abi.Resources{CPUMilli: rng.Int64N(c.CPUMilli + 1), Mem: rng.Int64N(c.Mem + 1), GPU: rng.Int64N(c.GPU + 1)}
		b.Agents = append(b.Agents, abi.Agent{Index: uint32(i), Capacity: c, Used: u})
		b.Total = b.Total.Add(c)
	}
	for o := range b.Owners {
		b.Owners[o] = res(float64(rng.IntN(4)), int64(rng.IntN(8)), int64(rng.IntN(2)))
	}
	for i := range nSessions {
		b.Sessions = append(b.Sessions, abi.Session{
			Index: uint32(i), Priority: int32(rng.IntN(3)), Owner: uint32(rng.IntN(nOwners)),
			CreatedAt: rng.Int64N(20), Request: res(float64(rng.IntN(4))+0.5, int64(rng.IntN(4)), int64(rng.IntN(2))),
		})
	}
	return b
}
