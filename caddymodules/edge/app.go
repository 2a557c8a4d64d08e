// Package edge is Berth's Caddy app "berth": the shared state of the edge's
// handlers. It holds the Valkey connection, the app-token secret and the
// route table (host label or edge port → api.Route), which it keeps in step
// with the manager's routes in Valkey (hash api.RoutesHash, pub/sub
// api.RoutesChannel, plus a full resync every few seconds). Session routes
// change without any Caddy config reload.
//
// Handlers reach the app with FromContext in their Provision.
package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/valkey-io/valkey-go"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/bus"
)

func init() {
	caddy.RegisterModule(App{})
}

// Defaults.
const (
	DefaultValkey     = "127.0.0.1:6379"
	DefaultManagerURL = "http://127.0.0.1:8081"
	DefaultPublicURL  = "http://localhost:8080"
	DefaultAppsDomain = "apps.localhost"
	DefaultResync     = 3 * time.Second
)

// App is the Caddy app "berth". Its string fields may hold global
// placeholders such as {env.BERTH_SECRET}.
type App struct {
	// Valkey is the host:port of the Valkey (or Redis 7) server holding the
	// routes and the used-token nonces. Default: 127.0.0.1:6379.
	Valkey string `json:"valkey,omitempty"`

	// Secret is the hex-encoded HMAC key shared with the manager, which signs
	// open_url tokens with it. When empty, a random key is used and a warning
	// is logged: app cookies then still work, but no manager-minted open_url
	// verifies.
	Secret string `json:"secret,omitempty"`

	// ManagerURL is the manager's base URL, for its health. Default:
	// http://127.0.0.1:8081.
	ManagerURL string `json:"manager_url,omitempty"`

	// PublicURL is the edge's own public base URL (web UI and API); browsers
	// without app access are sent to PublicURL/api/v1/apps/launch. Default:
	// http://localhost:8080.
	PublicURL string `json:"public_url,omitempty"`

	// AppsDomain is the wildcard domain of app hosts: an app answers at
	// <host label>.<apps_domain>. Default: apps.localhost.
	AppsDomain string `json:"apps_domain,omitempty"`

	// AppPorts is the port-mapping range "first-last" (or one port); a
	// request arriving on one of these local ports is routed by the port.
	// Empty or "off" turns port-mapping mode off.
	AppPorts string `json:"app_ports,omitempty"`

	// ResyncInterval is how often the whole route table is reloaded from
	// Valkey. Default: 3s.
	ResyncInterval caddy.Duration `json:"resync_interval,omitempty"`

	secret []byte
	ports  PortRange
	table  *Table
	log    *slog.Logger

	conn *conn
}

// conn is the app's Valkey connection state, shared by Start, Stop and the
// handlers.
type conn struct {
	mu      sync.Mutex
	bus     *bus.Bus
	lastErr error
	cancel  context.CancelFunc
	done    chan struct{}
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "berth",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision applies defaults and parses the configuration. It does not
// connect to Valkey (Start does), so `caddy validate` needs no server.
func (a *App) Provision(ctx caddy.Context) error {
	a.log = ctx.Slogger()
	a.table = NewTable()
	a.conn = new(conn)
	repl := caddy.NewReplacer() // global placeholders such as {env.BERTH_SECRET}
	for _, f := range []*string{&a.Valkey, &a.Secret, &a.ManagerURL, &a.PublicURL, &a.AppsDomain, &a.AppPorts} {
		*f = repl.ReplaceAll(*f, "")
	}
	if a.Valkey == "" {
		a.Valkey = DefaultValkey
	}
	if a.ManagerURL == "" {
		a.ManagerURL = DefaultManagerURL
	}
	if a.PublicURL == "" {
		a.PublicURL = DefaultPublicURL
	}
	a.PublicURL = strings.TrimRight(a.PublicURL, "/")
	a.ManagerURL = strings.TrimRight(a.ManagerURL, "/")
	if a.AppsDomain == "" {
		a.AppsDomain = DefaultAppsDomain
	}
	a.AppsDomain = strings.ToLower(strings.Trim(a.AppsDomain, "."))
	if a.ResyncInterval <= 0 {
		a.ResyncInterval = caddy.Duration(DefaultResync)
	}
	if a.Secret == "" {
		a.log.Warn("berth: no secret configured (BERTH_SECRET); using a random one, so manager-minted open_urls will not verify")
		a.secret = make([]byte, 32)
		_, _ = rand.Read(a.secret)
	} else {
		s, err := hex.DecodeString(strings.TrimSpace(a.Secret))
		if err != nil {
			return fmt.Errorf("decoding berth secret: %w", err)
		}
		a.secret = s
	}
	pr, err := ParsePortRange(a.AppPorts)
	if err != nil {
		return err
	}
	a.ports = pr
	return nil
}

// Validate checks the configuration.
func (a *App) Validate() error {
	if len(a.secret) < 16 {
		return errors.New("berth secret is too short: want at least 16 bytes (32 hex digits)")
	}
	for _, u := range []string{a.ManagerURL, a.PublicURL} {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("berth: bad URL %q: want http(s)://host[:port]", u)
		}
	}
	return nil
}

// Start connects to Valkey in the background (retrying until it answers)
// and then keeps the route table in step with it.
func (a *App) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	a.conn.cancel = cancel
	a.conn.done = make(chan struct{})
	go a.run(ctx)
	return nil
}

// Stop ends the background work and closes the Valkey connection.
func (a *App) Stop() error {
	c := a.conn
	if c == nil || c.cancel == nil {
		return nil
	}
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bus != nil {
		c.bus.Close()
		c.bus = nil
	}
	return nil
}

func (a *App) run(ctx context.Context) {
	defer close(a.conn.done)
	var b *bus.Bus
	for {
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var err error
		b, err = bus.Dial(dctx, a.Valkey)
		cancel()
		if ctx.Err() != nil {
			if b != nil {
				b.Close()
			}
			return
		}
		a.conn.mu.Lock()
		a.conn.lastErr = err
		a.conn.bus = b
		a.conn.mu.Unlock()
		if err == nil {
			break
		}
		a.log.Warn("berth: connecting to valkey; will retry", "addr", a.Valkey, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	a.log.Info("berth: connected to valkey; syncing routes", "addr", a.Valkey)
	Sync(ctx, a.log, b.Client(), a.table, time.Duration(a.ResyncInterval))
}

// Bus returns the Valkey connection, or nil while there is none yet.
func (a *App) Bus() *bus.Bus {
	a.conn.mu.Lock()
	defer a.conn.mu.Unlock()
	return a.conn.bus
}

// ValkeyHealth pings Valkey; it returns an error while there is no
// connection or the ping fails.
func (a *App) ValkeyHealth(ctx context.Context) error {
	a.conn.mu.Lock()
	b, lastErr := a.conn.bus, a.conn.lastErr
	a.conn.mu.Unlock()
	if b == nil {
		if lastErr == nil {
			return fmt.Errorf("connecting to valkey at %s: not connected yet", a.Valkey)
		}
		return lastErr
	}
	return b.Ping(ctx)
}

// ErrNonceUsed is returned by BurnNonce for a nonce that was used before.
var ErrNonceUsed = errors.New("token already used")

// BurnNonce marks a one-time token's nonce as used (SET NX with a 5-minute
// expiry, longer than an open token lives). It returns ErrNonceUsed when the
// nonce was used before.
func (a *App) BurnNonce(ctx context.Context, nonce string) error {
	b := a.Bus()
	if b == nil {
		return errors.New("burning token nonce: valkey not connected")
	}
	c := b.Client()
	err := c.Do(ctx, c.B().Set().Key(api.NoncePrefix+nonce).Value("1").Nx().Ex(5*time.Minute).Build()).Error()
	if valkey.IsValkeyNil(err) {
		return ErrNonceUsed
	}
	if err != nil {
		return fmt.Errorf("burning token nonce: %w", err)
	}
	return nil
}

// Table returns the route table.
// FromContext loads the berth app for a handler's Provision.
func FromContext(ctx caddy.Context) (*App, error) {
	a, err := ctx.App("berth")
	if err != nil {
		return nil, fmt.Errorf("loading berth app: %w", err)
	}
	return a.(*App), nil
}

func (a *App) Table() *Table { return a.table }

// SecretKey returns the decoded app-token secret.
func (a *App) SecretKey() []byte { return a.secret }

// Ports returns the port-mapping range (zero when off).
func (a *App) Ports() PortRange { return a.ports }

// PortRange is an inclusive range of TCP ports; the zero value is empty.
type PortRange struct{ First, Last int }

// Contains reports whether p is in the range.
func (r PortRange) Contains(p int) bool { return r.First > 0 && p >= r.First && p <= r.Last }

// ParsePortRange parses "first-last", a single port, or "" / "off" (empty).
func ParsePortRange(s string) (PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return PortRange{}, nil
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		b = a
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || first < 1 || last > 65535 || first > last {
		return PortRange{}, fmt.Errorf("parsing app port range %q: want first-last, e.g. 10200-10299", s)
	}
	return PortRange{First: first, Last: last}, nil
}

// Interface guards.
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)
