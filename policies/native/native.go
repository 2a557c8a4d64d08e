// Package native runs the built-in scheduling algorithms
// (policies/builtin/algo) as plain Go instead of Wasm. It satisfies
// scheduler.Policy and serves as the test oracle and benchmark baseline for
// the built-in Wasm module, which runs the very same code.
package native

import (
	"context"

	"github.com/berth-dev/berth/policies/abi"
	"github.com/berth-dev/berth/policies/builtin/algo"
)

// Policy decides with the built-in algorithm named by the batch's config
// string, e.g. "sequencer=drf,selector=dispersed".
type Policy struct{}

// Decide runs the algorithm natively.
func (Policy) Decide(ctx context.Context, in *abi.Batch) (*abi.Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return algo.Decide(in)
}
