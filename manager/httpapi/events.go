package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/api"
)

// Broker fans session changes out to /events subscribers. A subscriber
// that falls behind loses changes rather than slowing the manager down.
type Broker struct {
	mu   sync.Mutex
	subs map[chan api.Session]struct{}
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[chan api.Session]struct{}{}} }

// Publish hands s to every subscriber.
func (b *Broker) Publish(s api.Session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.subs {
		select {
		case c <- s:
		default:
		}
	}
}

func (b *Broker) subscribe() chan api.Session {
	c := make(chan api.Session, 64)
	b.mu.Lock()
	b.subs[c] = struct{}{}
	b.mu.Unlock()
	return c
}

func (b *Broker) unsubscribe(c chan api.Session) {
	b.mu.Lock()
	delete(b.subs, c)
	b.mu.Unlock()
}

// keepAlive is how often an idle event stream gets a comment line.
const keepAlive = 15 * time.Second

// sessionEvents streams the caller's session changes (admins: all) as
// server-sent events: "event: session" with the Session as data.
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
		case sess := <-c:
			if sess.OwnerID != u.ID && !isAdmin(u) {
				continue
			}
			b, err := json.Marshal(sess)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: session\nid: %s\ndata: %s\n\n", sess.ID, b)
		}
		fl.Flush()
	}
}
