// Package bus is the thin layer over Valkey that the manager, the agents and
// the edge share: JSON messages on streams read through consumer groups (so a
// message outlives a restart of its reader), one-shot replies on lists, and
// the connection itself.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/valkey-io/valkey-go"
)

// Bus is a Valkey connection.
type Bus struct {
	c valkey.Client
	// RetryEvery is how often Consume reads this consumer's unacknowledged
	// messages again (a failed handler's, or those taken before a crash);
	// zero means 5 s.
	RetryEvery time.Duration
}

// Dial connects to the Valkey (or Redis 7) server at addr ("host:port").
func Dial(ctx context.Context, addr string) (*Bus, error) {
	c, err := valkey.NewClient(valkey.ClientOption{
		InitAddress:  []string{addr},
		DisableCache: true,
		Dialer:       dialer(),
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to valkey at %s: %w", addr, err)
	}
	if err := c.Do(ctx, c.B().Ping().Build()).Error(); err != nil {
		c.Close()
		return nil, fmt.Errorf("pinging valkey at %s: %w", addr, err)
	}
	return &Bus{c: c}, nil
}

// Client is the underlying valkey-go client, for plain commands.
func (b *Bus) Client() valkey.Client { return b.c }

// Close closes the connection.
func (b *Bus) Close() { b.c.Close() }

// Ping checks the connection.
func (b *Bus) Ping(ctx context.Context) error {
	return b.c.Do(ctx, b.c.B().Ping().Build()).Error()
}

// Publish appends v, as JSON, to stream (trimmed to about 10,000 entries).
func (b *Bus) Publish(ctx context.Context, stream string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding message for %s: %w", stream, err)
	}
	cmd := b.c.B().Xadd().Key(stream).Maxlen().Almost().Threshold("10000").Id("*").FieldValue().FieldValue(api.StreamField, string(data)).Build()
	if err := b.c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("publishing to %s: %w", stream, err)
	}
	return nil
}

// Handler handles one stream message. Returning nil acknowledges it; an
// error leaves it pending, and it is handed over again (up to 3 tries in
// all, then dropped with a log line).
type Handler func(ctx context.Context, data []byte) error

// Consume reads stream as consumer in group until ctx ends. It first
// re-reads this consumer's own unacknowledged messages (those it took before
// a crash), then new ones.
func (b *Bus) Consume(ctx context.Context, log *slog.Logger, stream, group, consumer string, h Handler) error {
	err := b.c.Do(ctx, b.c.B().XgroupCreate().Key(stream).Group(group).Id("0").Mkstream().Build()).Error()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("creating consumer group %s on %s: %w", group, stream, err)
	}
	tries := map[string]int{}
	pendingCheck := time.Time{}
	for ctx.Err() == nil {
		id := ">"
		every := b.RetryEvery
		if every <= 0 {
			every = 5 * time.Second
		}
		if time.Since(pendingCheck) > every {
			id = "0" // our own pending entries first
			pendingCheck = time.Now()
		}
		block := min(every, 2*time.Second)
		cmd := b.c.B().Xreadgroup().Group(group, consumer).Count(64).Block(block.Milliseconds()).Streams().Key(stream).Id(id).Build()
		res, err := b.c.Do(ctx, cmd).AsXRead()
		if err != nil {
			if valkey.IsValkeyNil(err) || ctx.Err() != nil {
				continue
			}
			if strings.Contains(err.Error(), "NOGROUP") {
				_ = b.c.Do(ctx, b.c.B().XgroupCreate().Key(stream).Group(group).Id("0").Mkstream().Build()).Error()
				continue
			}
			log.Warn("reading stream", "stream", stream, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for _, e := range res[stream] {
			data := []byte(e.FieldValues[api.StreamField])
			if err := h(ctx, data); err != nil {
				if ctx.Err() != nil {
					// Shutting down: leave it pending; the next run of this
					// consumer reads it again.
					return ctx.Err()
				}
				tries[e.ID]++
				if tries[e.ID] < 3 {
					log.Warn("handling stream message; will retry", "stream", stream, "id", e.ID, "err", err)
					continue
				}
				log.Error("dropping stream message after 3 tries", "stream", stream, "id", e.ID, "err", err)
			}
			delete(tries, e.ID)
			if err := b.c.Do(context.WithoutCancel(ctx), b.c.B().Xack().Key(stream).Group(group).Id(e.ID).Build()).Error(); err != nil {
				log.Warn("acknowledging stream message", "stream", stream, "id", e.ID, "err", err)
			}
		}
	}
	return ctx.Err()
}

// Reply pushes v, as JSON, onto the reply list key, which expires after two
// minutes if nobody reads it.
func (b *Bus) Reply(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding reply: %w", err)
	}
	cmds := valkey.Commands{
		b.c.B().Lpush().Key(key).Element(string(data)).Build(),
		b.c.B().Expire().Key(key).Seconds(120).Build(),
	}
	for _, r := range b.c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			return fmt.Errorf("sending reply on %s: %w", key, err)
		}
	}
	return nil
}

// ErrNoReply is returned by AwaitReply when the wait times out.
var ErrNoReply = errors.New("no reply in time")

// AwaitReply waits up to timeout for one reply on key and decodes it into v.
func (b *Bus) AwaitReply(ctx context.Context, key string, timeout time.Duration, v any) error {
	secs := timeout.Seconds()
	if secs < 1 {
		secs = 1
	}
	res, err := b.c.Do(ctx, b.c.B().Blpop().Key(key).Timeout(secs).Build()).AsStrSlice()
	if err != nil {
		if valkey.IsValkeyNil(err) {
			return ErrNoReply
		}
		return fmt.Errorf("waiting for reply on %s: %w", key, err)
	}
	if len(res) != 2 {
		return fmt.Errorf("waiting for reply on %s: unexpected answer %q", key, res)
	}
	if err := json.Unmarshal([]byte(res[1]), v); err != nil {
		return fmt.Errorf("decoding reply on %s: %w", key, err)
	}
	return nil
}
