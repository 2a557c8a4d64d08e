package host

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/builtin"
	"github.com/berth-dev/berth/policies/native"
)

// TestBuiltinMatchesNative runs the embedded built-in module (a Go guest)
// with every built-in configuration and checks it decides exactly what the
// same algorithm decides natively.
func TestBuiltinMatchesNative(t *testing.T) {
	h := newHost(t, Options{})
	m, err := h.Compile(context.Background(), builtin.Wasm)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	rng := rand.New(rand.NewPCG(7, 8))
	for _, name := range builtin.Names() {
		cfg, _ := builtin.Config(name)
		t.Run(name, func(t *testing.T) {
			for range 5 {
				b := randomBatch(rng, 1+rng.IntN(50), rng.IntN(200), 1+rng.IntN(6))
				b.Config = cfg
				got, err := m.Decide(context.Background(), b)
				if err != nil {
					t.Fatal(err)
				}
				want, err := native.Policy{}.Decide(context.Background(), b)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Picks) == 0 && len(want.Picks) == 0 && got.Cursor == want.Cursor {
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("wasm %+v\nnative %+v", got, want)
				}
			}
		})
	}
	t.Run("bad config is a guest error", func(t *testing.T) {
		b := randomBatch(rng, 2, 2, 1)
		b.Config = "sequencer=random"
		_, err := m.Decide(context.Background(), b)
		var ge *abi.GuestError
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), `unknown sequencer "random"`) {
			t.Fatalf("got %v", err)
		}
	})
}

func randomBatch(rng *rand.Rand, nAgents, nSessions, nOwners int) *abi.Batch {
	b := &abi.Batch{Owners: make([]abi.Resources, nOwners), Cursor: uint32(rng.IntN(nAgents + 1)), Now: 1_700_000_000_000}
	for i := range nAgents {
		c := abi.Resources{CPUMilli: 1000 * (1 + rng.Int64N(16)), Mem: (1 + rng.Int64N(64)) << 30, GPU: rng.Int64N(3)}
		u := abi.Resources{CPUMilli: rng.Int64N(c.CPUMilli + 1), Mem: rng.Int64N(c.Mem + 1), GPU: rng.Int64N(c.GPU + 1)}
		b.Agents = append(b.Agents, abi.Agent{Index: uint32(i), Capacity: c, Used: u})
		b.Total = b.Total.Add(c)
	}
	for o := range b.Owners {
		b.Owners[o] = abi.Resources{CPUMilli: 500 * rng.Int64N(8), Mem: rng.Int64N(8) << 30}
	}
	for i := range nSessions {
		b.Sessions = append(b.Sessions, abi.Session{
			Index: uint32(i), Priority: int32(rng.IntN(3)), Owner: uint32(rng.IntN(nOwners)),
			CreatedAt: 1_700_000_000_000 + rng.Int64N(100),
			Request:   abi.Resources{CPUMilli: 250 * (1 + rng.Int64N(16)), Mem: (1 + rng.Int64N(8)) << 29, GPU: rng.Int64N(2)},
		})
	}
	return b
}
