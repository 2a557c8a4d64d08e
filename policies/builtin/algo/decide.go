package algo

import (
	"errors"
	"strconv"

	"github.com/berth-dev/berth/policies/abi"
)

// Decide runs the built-in policy named by b.Config over the batch: it
// orders the sessions with the sequencer (priority bands first) and places
// each on an agent chosen by the selector, keeping track of the free
// capacity it hands out. Sessions that fit nowhere are skipped (they do not
// block the sessions behind them).
func Decide(b *abi.Batch) (*abi.Decision, error) {
	cfg, err := ParseConfig(b.Config)
	if err != nil {
		return nil, err
	}
	return Run(cfg, b)
}

// Run is Decide with an already parsed configuration.
func Run(cfg Config, b *abi.Batch) (*abi.Decision, error) {
	for i := range b.Agents {
		if b.Agents[i].Index != uint32(i) {
			return nil, errors.New("agent at position " + strconv.Itoa(i) + " has index " + strconv.FormatUint(uint64(b.Agents[i].Index), 10))
		}
	}
	for i := range b.Sessions {
		if b.Sessions[i].Index != uint32(i) {
			return nil, errors.New("session at position " + strconv.Itoa(i) + " has index " + strconv.FormatUint(uint64(b.Sessions[i].Index), 10))
		}
	}
	var seq sequencer
	switch cfg.Sequencer {
	case FIFO, LIFO:
		seq = newListSequencer(b.Sessions, cfg.Sequencer == LIFO)
	case DRF:
		d, err := newDRFSequencer(b)
		if err != nil {
			return nil, err
		}
		seq = d
	default:
		return nil, errors.New(`unknown sequencer "` + cfg.Sequencer + `"`)
	}
	l := newLedger(b.Agents)
	var sel selector
	rr := (*roundRobin)(nil)
	switch cfg.Selector {
	case Concentrated:
		sel = newRanked(l, l.tighter, b.Sessions)
	case Dispersed:
		sel = newRanked(l, l.roomier, b.Sessions)
	case RoundRobin:
		cursor := 0
		if len(b.Agents) > 0 {
			cursor = int(b.Cursor % uint32(len(b.Agents)))
		}
		rr = &roundRobin{l: l, cursor: cursor}
		sel = rr
	default:
		return nil, errors.New(`unknown selector "` + cfg.Selector + `"`)
	}
	d := &abi.Decision{Cursor: b.Cursor, Picks: make([]abi.Pick, 0, min(len(b.Sessions), 1024))}
	for {
		s, ok := seq.next()
		if !ok {
			break
		}
		req := b.Sessions[s].Request
		if req.CPUMilli < 0 || req.Mem < 0 || req.GPU < 0 {
			continue
		}
		a := sel.pick(req)
		if a < 0 {
			continue
		}
		sel.take(a, req)
		seq.placed(s)
		d.Picks = append(d.Picks, abi.Pick{Session: uint32(s), Agent: uint32(a)})
	}
	if rr != nil {
		d.Cursor = uint32(rr.cursor)
	}
	return d, nil
}
