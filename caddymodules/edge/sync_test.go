package edge

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/bus"
	"github.com/berth-dev/berth/bus/bustest"
)

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSync(t *testing.T) {
	addr := bustest.StartRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := b.Client()
	put := func(r api.Route, publish bool) {
		data, _ := json.Marshal(r)
		if err := c.Do(ctx, c.B().Hset().Key(api.RoutesHash).FieldValue().FieldValue(r.HostLabel, string(data)).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		if publish {
			if err := c.Do(ctx, c.B().Publish().Channel(api.RoutesChannel).Message(r.HostLabel).Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
	}
	del := func(label string, publish bool) {
		if err := c.Do(ctx, c.B().Hdel().Key(api.RoutesHash).Field(label).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		if publish {
			if err := c.Do(ctx, c.B().Publish().Channel(api.RoutesChannel).Message(label).Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
	}

	// A route that exists before the edge starts is loaded at once.
	put(api.Route{HostLabel: "old-00000000-web", Upstream: "127.0.0.1:1"}, false)
	// Garbage in the hash is skipped, not fatal.
	if err := c.Do(ctx, c.B().Hset().Key(api.RoutesHash).FieldValue().FieldValue("bad", "{").Build()).Error(); err != nil {
		t.Fatal(err)
	}

	tb := NewTable()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A resync interval of an hour: the updates below can only arrive by
	// pub/sub.
	done := make(chan struct{})
	go func() { Sync(ctx, log, c, tb, time.Hour); close(done) }()
	eventually(t, "initial load", func() bool { _, ok := tb.ByLabel("old-00000000-web"); return ok })

	t.Run("pubsub add", func(t *testing.T) {
		put(api.Route{HostLabel: "new-11111111-web", Upstream: "127.0.0.1:2", EdgePort: 10201}, true)
		eventually(t, "new route", func() bool { r, ok := tb.ByPort(10201); return ok && r.HostLabel == "new-11111111-web" })
	})
	t.Run("pubsub change", func(t *testing.T) {
		put(api.Route{HostLabel: "new-11111111-web", Upstream: "127.0.0.1:3", EdgePort: 10201}, true)
		eventually(t, "changed route", func() bool { r, _ := tb.ByLabel("new-11111111-web"); return r.Upstream == "127.0.0.1:3" })
	})
	t.Run("pubsub remove", func(t *testing.T) {
		del("new-11111111-web", true)
		eventually(t, "removed route", func() bool { _, ok := tb.ByLabel("new-11111111-web"); return !ok })
		if _, ok := tb.ByPort(10201); ok {
			t.Error("removed route's edge port still routed")
		}
	})
	cancel()
	<-done
}

// TestSyncResync checks that changes whose pub/sub message was lost heal
// by the periodic full resync.
func TestSyncResync(t *testing.T) {
	addr := bustest.StartRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := b.Client()
	tb := NewTable()
	tb.Put("stale-22222222-web", api.Route{HostLabel: "stale-22222222-web"}) // not in Valkey
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan struct{})
	go func() { Sync(ctx, log, c, tb, 50*time.Millisecond); close(done) }()
	eventually(t, "stale route dropped", func() bool { _, ok := tb.ByLabel("stale-22222222-web"); return !ok })

	data, _ := json.Marshal(api.Route{HostLabel: "quiet-33333333-web", Upstream: "127.0.0.1:4"})
	if err := c.Do(ctx, c.B().Hset().Key(api.RoutesHash).FieldValue().FieldValue("quiet-33333333-web", string(data)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "unpublished route picked up by resync", func() bool { _, ok := tb.ByLabel("quiet-33333333-web"); return ok })
	cancel()
	<-done
}
