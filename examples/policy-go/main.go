// Command policy-go is a template Berth scheduling policy written in Go:
// copy this directory, change decide, and build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o policy.wasm .
//	berth policy upload policy.wasm --name fewest-sessions --kind scheduler
//
// This one places sessions (higher priority first, then oldest first) on
// the fitting agent that runs the fewest sessions. decide is plain Go, so
// it is unit-tested natively (go test .).
package main

import (
	"cmp"
	"slices"

	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/sdk"
)

func init() { sdk.Register(decide) }

func decide(b *abi.Batch) (*abi.Decision, error) {
	order := make([]int, len(b.Sessions))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int {
		a, c := b.Sessions[x], b.Sessions[y]
		if a.Priority != c.Priority {
			return cmp.Compare(c.Priority, a.Priority)
		}
		return cmp.Compare(a.CreatedAt, c.CreatedAt)
	})
	// Track free capacity and session counts as we place, so two sessions
	// never take the room for one (the host would drop such a pick).
	free := make([]abi.Resources, len(b.Agents))
	count := make([]uint32, len(b.Agents))
	for i, a := range b.Agents {
		free[i], count[i] = a.Free(), a.Sessions
	}
	d := &abi.Decision{Cursor: b.Cursor}
	for _, s := range order {
		req := b.Sessions[s].Request
		best := -1
		for a := range b.Agents {
			if req.Fits(free[a]) && (best < 0 || count[a] < count[best]) {
				best = a
			}
		}
		if best < 0 {
			continue // stays pending; the scheduler tells the user why
		}
		free[best] = free[best].Sub(req)
		count[best]++
		d.Picks = append(d.Picks, abi.Pick{Session: uint32(s), Agent: uint32(best)})
	}
	return d, nil
}

func main() {}
