package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/valkey-io/valkey-go"
)

// LoadRoutes reads every route from the Valkey hash api.RoutesHash. Entries
// that do not decode are skipped and logged.
func LoadRoutes(ctx context.Context, log *slog.Logger, c valkey.Client) (map[string]api.Route, error) {
	m, err := c.Do(ctx, c.B().Hgetall().Key(api.RoutesHash).Build()).AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", api.RoutesHash, err)
	}
	out := make(map[string]api.Route, len(m))
	for label, data := range m {
		var r api.Route
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			log.Warn("skipping undecodable route", "label", label, "err", err)
			continue
		}
		out[label] = r
	}
	return out, nil
}

// LoadRoute reads the route under label; ok is false when there is none.
func LoadRoute(ctx context.Context, c valkey.Client, label string) (r api.Route, ok bool, err error) {
	data, err := c.Do(ctx, c.B().Hget().Key(api.RoutesHash).Field(label).Build()).ToString()
	if valkey.IsValkeyNil(err) {
		return api.Route{}, false, nil
	}
	if err != nil {
		return api.Route{}, false, fmt.Errorf("reading route %q: %w", label, err)
	}
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return api.Route{}, false, fmt.Errorf("decoding route %q: %w", label, err)
	}
	return r, true, nil
}

// Sync keeps t in step with Valkey until ctx ends: it subscribes to
// api.RoutesChannel and reloads each label named there, and reloads the
// whole hash right after each (re)subscription and every resync interval,
// so that pub/sub messages lost while disconnected heal. All table updates
// happen on one goroutine, in the order they were asked for, so an old
// full load never overwrites a newer single-route update.
func Sync(ctx context.Context, log *slog.Logger, c valkey.Client, t *Table, resync time.Duration) {
	labels := make(chan string, 1024)
	resyncNow := make(chan struct{}, 1)
	askResync := func() {
		select {
		case resyncNow <- struct{}{}:
		default:
		}
	}
	go subscribe(ctx, log, c, labels, askResync)

	full := func() {
		routes, err := LoadRoutes(ctx, log, c)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("resyncing routes", "err", err)
			}
			return
		}
		t.Replace(routes)
	}
	full()
	tick := time.NewTicker(resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			full()
		case <-resyncNow:
			full()
		case label := <-labels:
			r, ok, err := LoadRoute(ctx, c, label)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					log.Warn("updating route", "label", label, "err", err)
				}
				askResync()
			case ok:
				t.Put(label, r)
			default:
				t.Remove(label)
			}
		}
	}
}

// subscribe feeds labels from api.RoutesChannel until ctx ends,
// resubscribing after connection errors; it asks for a full resync each
// time a subscription goes live and whenever labels overflows.
func subscribe(ctx context.Context, log *slog.Logger, c valkey.Client, labels chan<- string, askResync func()) {
	hooked := valkey.WithOnSubscriptionHook(ctx, func(s valkey.PubSubSubscription) {
		if s.Kind == "subscribe" {
			askResync()
		}
	})
	for ctx.Err() == nil {
		err := c.Receive(hooked, c.B().Subscribe().Channel(api.RoutesChannel).Build(), func(m valkey.PubSubMessage) {
			select {
			case labels <- m.Message:
			default:
				askResync()
			}
		})
		if ctx.Err() != nil {
			return
		}
		log.Warn("route subscription ended; resubscribing", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
