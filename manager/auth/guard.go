package auth

import (
	"strings"
	"sync"
	"time"
)

// Guard slows down password guessing: after MaxFails failed logins for one
// email within Window, further attempts are refused until the oldest
// failure is Window old. It is per manager process and in memory.
type Guard struct {
	MaxFails int
	Window   time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time
}

// NewGuard returns a guard allowing maxFails failures per window.
func NewGuard(maxFails int, window time.Duration) *Guard {
	return &Guard{MaxFails: maxFails, Window: window, fails: map[string][]time.Time{}}
}

// Blocked reports whether email may not try now, and for how long.
func (g *Guard) Blocked(email string, now time.Time) (time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fs := g.recent(strings.ToLower(email), now)
	if len(fs) < g.MaxFails {
		return 0, false
	}
	return fs[0].Add(g.Window).Sub(now), true
}

// Failed records a failed login for email.
func (g *Guard) Failed(email string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := strings.ToLower(email)
	g.fails[k] = append(g.recent(k, now), now)
	if len(g.fails) > 10000 { // bound memory under a spray of addresses
		for e := range g.fails {
			if len(g.recent(e, now)) == 0 {
				delete(g.fails, e)
			}
		}
	}
}

// Succeeded forgets email's failures.
func (g *Guard) Succeeded(email string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.fails, strings.ToLower(email))
}

// recent drops failures older than the window; g.mu is held.
func (g *Guard) recent(email string, now time.Time) []time.Time {
	fs := g.fails[email]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= g.Window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(g.fails, email)
		return nil
	}
	g.fails[email] = fs
	return fs
}

// dummyHash is compared against when the email is unknown, so a login
// takes as long whether or not the account exists.
var dummyHash, _ = HashPassword("no such account, but take the time anyway")

// CheckPasswordOrDummy is CheckPassword against hash, or against a dummy
// hash (always false) when hash is empty.
func CheckPasswordOrDummy(hash, password string) bool {
	if hash == "" {
		_ = CheckPassword(dummyHash, password)
		return false
	}
	return CheckPassword(hash, password)
}
