// Command guest is the built-in scheduling policy module (builtin.wasm):
// one Wasm module serving every sequencer × selector combination of
// policies/builtin/algo, chosen by the batch's config string, e.g.
// "sequencer=drf,selector=dispersed". Build it with ../build.sh.
package main

import (
	"github.com/berth-dev/berth/policies/builtin/algo"
	"github.com/berth-dev/berth/policies/sdk"
)

func init() { sdk.Register(algo.Decide) }

func main() {}
