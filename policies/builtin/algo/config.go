// Package algo holds the built-in scheduling algorithms: sequencers (fifo,
// lifo, drf) crossed with agent selectors (concentrated, dispersed,
// roundrobin). It is pure (stdlib and policies/abi only) so the same code
// runs inside the built-in Wasm guest and natively (policies/native).
package algo

import (
	"errors"
	"strings"
)

// Sequencer names.
const (
	FIFO = "fifo"
	LIFO = "lifo"
	DRF  = "drf"
)

// Selector names.
const (
	Concentrated = "concentrated"
	Dispersed    = "dispersed"
	RoundRobin   = "roundrobin"
)

// Sequencers returns the sequencer names.
func Sequencers() []string { return []string{FIFO, LIFO, DRF} }

// Selectors returns the agent selector names.
func Selectors() []string { return []string{Concentrated, Dispersed, RoundRobin} }

// Config picks a sequencer and a selector.
type Config struct {
	Sequencer string
	Selector  string
}

// DefaultConfig is fifo ordering with dispersed (spread) placement.
var DefaultConfig = Config{Sequencer: FIFO, Selector: Dispersed}

// String returns the configuration string, e.g.
// "sequencer=drf,selector=dispersed".
func (c Config) String() string {
	return "sequencer=" + c.Sequencer + ",selector=" + c.Selector
}

// ParseConfig parses "sequencer=S,selector=A" (either key may be omitted;
// an empty string is DefaultConfig). Spaces around items are ignored.
func ParseConfig(s string) (Config, error) {
	c := DefaultConfig
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		if !ok {
			return c, errors.New(`config item "` + item + `" is not key=value`)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "sequencer":
			if !oneOf(v, Sequencers()) {
				return c, errors.New(`unknown sequencer "` + v + `" (want one of ` + strings.Join(Sequencers(), ", ") + ")")
			}
			c.Sequencer = v
		case "selector":
			if !oneOf(v, Selectors()) {
				return c, errors.New(`unknown selector "` + v + `" (want one of ` + strings.Join(Selectors(), ", ") + ")")
			}
			c.Selector = v
		default:
			return c, errors.New(`unknown config key "` + k + `" (want sequencer or selector)`)
		}
	}
	return c, nil
}

func oneOf(s string, list []string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
