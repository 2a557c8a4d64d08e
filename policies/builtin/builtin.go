// Package builtin ships Berth's built-in scheduling policies as one
// embedded Wasm module (built from ./guest with build.sh) and names its
// nine configurations: sequencers fifo, lifo and drf crossed with the agent
// selectors concentrated, dispersed and roundrobin.
package builtin

import (
	_ "embed"
	"slices"
	"strings"

	"github.com/berth-dev/berth/policies/builtin/algo"
)

//go:generate sh build.sh

// Wasm is the built-in policy module. Every built-in policy runs this same
// module with a different config string (see Config).
//
//go:embed builtin.wasm
var Wasm []byte

// Default is the policy a new resource group gets.
const Default = "fifo-dispersed"

// Names returns the built-in policy names, "<sequencer>-<selector>", e.g.
// "fifo-dispersed" or "drf-concentrated".
func Names() []string {
	var names []string
	for _, seq := range algo.Sequencers() {
		for _, sel := range algo.Selectors() {
			names = append(names, seq+"-"+sel)
		}
	}
	return names
}

// Config returns the config string the module needs for the built-in
// policy name, e.g. "drf-dispersed" → "sequencer=drf,selector=dispersed".
func Config(name string) (string, bool) {
	seq, sel, _ := strings.Cut(name, "-")
	if !slices.Contains(algo.Sequencers(), seq) || !slices.Contains(algo.Selectors(), sel) {
		return "", false
	}
	return algo.Config{Sequencer: seq, Selector: sel}.String(), true
}
