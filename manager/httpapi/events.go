package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/api"
)

// Broker fans session changes and policy events out to /events
// subscribers. A subscriber that falls behind loses events rather than
// slowing the manager down.
type Broker struct {
	mu   sync.Mutex
	subs map[chan event]struct{}
}

// event is one server-sent event: kind is "session" or "policy"; owner,
// if set, limits it to that user (and admins).
type event struct {
	kind, id, owner string
	data            any
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[chan event]struct{}{}} }

// Publish hands a changed session to every subscriber.
func (b *Broker) Publish(s api.Session) {
	b.send(event{kind: "session", id: s.ID, owner: s.OwnerID, data: s})
}

// PublishPolicy hands a policy event (a group fell back, or its policy
// works again) to every subscriber.
func (b *Broker) PublishPolicy(e api.PolicyEvent) {
	b.send(event{kind: "policy", id: e.Group, data: e})
}

func (b *Broker) send(e event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.subs {
		select {
		case c <- e:
		default:
		}
	}
}

func (b *Broker) subscribe() chan event {
	c := make(chan event, 64)
	b.mu.Lock()
	b.subs[c] = struct{}{}
	b.mu.Unlock()
	return c
}

func (b *Broker) unsubscribe(c chan event) {
	b.mu.Lock()
	delete(b.subs, c)
	b.mu.Unlock()
}

// keepAlive is how often an idle event stream gets a comment line.
const keepAlive = 15 * time.Second

// sessionEvents streams the caller's session changes (admins: all) as
// server-sent events: "event: session" with the Session as data, and
// every group's policy events: "event: policy" with an api.PolicyEvent.
func (s *Server) sessionEvents(w http.ResponseWriter, r *http.Request, u api.User) {
	fl, ok := w.(http.Flusher)
	if !ok {
		problem(w, http.StatusInternalServerError, "streaming is not supported by this connection")
		return
	}
	c := s.events.subscribe()
	defer s.events.unsubscribe(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": berth session events\n\n")
	fl.Flush()
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev := <-c:
			if ev.owner != "" && ev.owner != u.ID && !isAdmin(u) {
				continue
			}
			b, err := json.Marshal(ev.data)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: %s\nid: %s\ndata: %s\n\n", ev.kind, ev.id, b)
		}
		fl.Flush()
	}
}
