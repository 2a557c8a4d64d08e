package bus_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berth-dev/berth/bus"
	"github.com/berth-dev/berth/bus/bustest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type msg struct {
	N int `json:"n"`
}

func dial(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Dial(context.Background(), bustest.StartRedis(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	b.RetryEvery = 200 * time.Millisecond
	return b
}

// consume runs a consumer until it has seen want messages or 10 s passed.
func consume(t *testing.T, b *bus.Bus, stream string, h bus.Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = b.Consume(ctx, quiet, stream, "g", "c1", func(ctx context.Context, data []byte) error {
		err := h(ctx, data)
		if errors.Is(err, errStop) {
			cancel()
			return nil
		}
		return err
	})
}

var errStop = errors.New("stop")

func TestConsumeAcksAndRetries(t *testing.T) {
	b := dial(t)
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := b.Publish(ctx, "s", msg{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	var fails atomic.Int32
	consume(t, b, "s", func(ctx context.Context, data []byte) error {
		seen = append(seen, string(data))
		if string(data) == `{"n":2}` && fails.Add(1) <= 1 {
			return errors.New("try again") // handed over again, then acknowledged
		}
		if len(seen) == 4 {
			return errStop
		}
		return nil
	})
	if len(seen) != 4 || seen[0] != `{"n":1}` || seen[1] != `{"n":2}` || seen[3] != `{"n":2}` {
		t.Errorf("seen %q: want 1, 2, 3 and then 2 again", seen)
	}
	// nothing is left pending: a new run sees no message
	var again int
	ctx2, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_ = b.Consume(ctx2, quiet, "s", "g", "c1", func(context.Context, []byte) error { again++; return nil })
	if again != 0 {
		t.Errorf("%d messages handed over again after they were acknowledged", again)
	}
}

func TestPoisonMessageIsDropped(t *testing.T) {
	b := dial(t)
	ctx := context.Background()
	_ = b.Publish(ctx, "p", msg{N: 1})
	tries := 0
	ctx2, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_ = b.Consume(ctx2, quiet, "p", "g", "c1", func(ctx context.Context, data []byte) error {
		tries++
		return errors.New("always fails")
	})
	if tries != 3 {
		t.Errorf("poison message tried %d times, want 3 and then dropped", tries)
	}
}

// TestShutdownLeavesMessagePending: a handler that fails because the
// consumer is stopping must not lose its message.
func TestShutdownLeavesMessagePending(t *testing.T) {
	b := dial(t)
	ctx := context.Background()
	_ = b.Publish(ctx, "d", msg{N: 7})
	cctx, cancel := context.WithCancel(ctx)
	_ = b.Consume(cctx, quiet, "d", "g", "c1", func(ctx context.Context, data []byte) error {
		cancel() // the agent is told to stop mid-command
		return ctx.Err()
	})
	var got string
	consume(t, b, "d", func(ctx context.Context, data []byte) error {
		got = string(data)
		return errStop
	})
	if got != `{"n":7}` {
		t.Errorf("after a restart the consumer got %q, want the interrupted message again", got)
	}
}

func TestReply(t *testing.T) {
	b := dial(t)
	ctx := context.Background()
	if err := b.Reply(ctx, "r1", msg{N: 5}); err != nil {
		t.Fatal(err)
	}
	var m msg
	if err := b.AwaitReply(ctx, "r1", time.Second, &m); err != nil || m.N != 5 {
		t.Errorf("AwaitReply = %+v, %v", m, err)
	}
	if err := b.AwaitReply(ctx, "r2", time.Second, &m); !errors.Is(err, bus.ErrNoReply) {
		t.Errorf("AwaitReply without a reply = %v, want ErrNoReply", err)
	}
}
