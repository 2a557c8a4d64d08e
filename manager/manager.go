// Package manager is Berth's control plane (`berth manager`): it wires the
// database, the Valkey bus, the Wasm policy host and the scheduler together,
// serves the REST API, consumes agent events, and runs the scheduling loop.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/bus"
	"github.com/berth-dev/berth/manager/auth"
	"github.com/berth-dev/berth/manager/database"
	"github.com/berth-dev/berth/manager/httpapi"
	"github.com/berth-dev/berth/manager/scheduler"
	"github.com/berth-dev/berth/policies/host"
)

// Config configures a manager. Zero durations take the defaults.
type Config struct {
	// Listen is the REST API's address (default 127.0.0.1:8081).
	Listen      string
	PostgresURL string
	ValkeyAddr  string
	// Secret signs app tokens; the edge must have the same.
	Secret []byte
	// PublicURL is where browsers reach the edge (http://localhost:8080).
	PublicURL string
	// AppsDomain is the wildcard domain of app hosts (apps.localhost).
	AppsDomain string
	// EdgePort is the edge's port in app URLs (8080).
	EdgePort int
	// AppPorts is the edge's port-mapping range; {0, 0} turns that mode off.
	AppPorts [2]int
	// BootstrapAdmin, if set, is created on start when no user exists.
	BootstrapAdmin *BootstrapAdmin
	// SweepEvery is the period of the forced scheduling pass and of the
	// lost-agent check (5s).
	SweepEvery time.Duration
	// AgentLostAfter marks an agent LOST after this long without a
	// heartbeat (30s).
	AgentLostAfter time.Duration
	// ResendAfter is how long a session may stay TERMINATING before its
	// destroy command is sent again (20s); PREPARING waits three times as
	// long for its create command. Commands are lost when an agent stops
	// in the middle of one; agents handle them idempotently.
	ResendAfter time.Duration
	// InstanceName names this manager in the event stream's consumer group
	// (default: host name); keep it stable across restarts.
	InstanceName string
	// PolicyCacheDir keeps compiled Wasm policies across restarts (empty:
	// in memory only).
	PolicyCacheDir string
	// PolicyDeadline bounds one policy call (default: the host's, 2s).
	PolicyDeadline time.Duration
	// PolicyMemoryPages caps a policy instance's linear memory in 64 KiB
	// pages (default: the host's, 256 MiB).
	PolicyMemoryPages uint32
}

// BootstrapAdmin is the first account, created when the database has none.
type BootstrapAdmin struct {
	Email     string `json:"email"`
	Password  string `json:"password"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

func (c *Config) setDefaults() error {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8081"
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:8080"
	}
	if c.AppsDomain == "" {
		c.AppsDomain = "apps.localhost"
	}
	if c.EdgePort == 0 {
		c.EdgePort = 8080
	}
	if c.SweepEvery <= 0 {
		c.SweepEvery = 5 * time.Second
	}
	if c.AgentLostAfter <= 0 {
		c.AgentLostAfter = 30 * time.Second
	}
	if c.ResendAfter <= 0 {
		c.ResendAfter = 20 * time.Second
	}
	if c.InstanceName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "manager"
		}
		c.InstanceName = h
	}
	switch {
	case c.PostgresURL == "":
		return errors.New("no PostgreSQL URL (BERTH_POSTGRES)")
	case c.ValkeyAddr == "":
		return errors.New("no Valkey address (BERTH_VALKEY)")
	case len(c.Secret) < 16:
		return errors.New("the app token secret (BERTH_SECRET) must be at least 16 bytes")
	case c.AppPorts != [2]int{} && (c.AppPorts[0] < 1 || c.AppPorts[1] > 65535 || c.AppPorts[0] > c.AppPorts[1]):
		return fmt.Errorf("bad app port range %d-%d", c.AppPorts[0], c.AppPorts[1])
	}
	return nil
}

func (c *Config) portMode() bool { return c.AppPorts != [2]int{} }

// Manager is a running manager's state.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	db     *database.DB
	bus    *bus.Bus
	host   *host.Host
	api    *httpapi.Server
	events *httpapi.Broker
	wake   chan struct{}

	mu      sync.Mutex
	modules map[string]scheduler.Policy // compiled policies by module hash
	backoff *backoff
	resent  map[string]time.Time // session ID -> when its command was last re-sent
}

// New connects to PostgreSQL (applying migrations) and Valkey, creates
// the bootstrap admin if needed, and starts the policy host. Call Start to
// run the background loops, Handler to serve the API, and Close at the end.
func New(ctx context.Context, log *slog.Logger, cfg Config) (*Manager, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("configuring manager: %w", err)
	}
	m := &Manager{cfg: cfg, log: log, wake: make(chan struct{}, 1), modules: map[string]scheduler.Policy{}, backoff: newBackoff(),
		resent: map[string]time.Time{}}
	var err error
	if m.db, err = database.Open(ctx, log, cfg.PostgresURL); err != nil {
		return nil, err
	}
	if _, err := m.db.Migrate(ctx); err != nil {
		m.db.Close()
		return nil, err
	}
	if err := m.bootstrap(ctx); err != nil {
		m.db.Close()
		return nil, err
	}
	if m.bus, err = bus.Dial(ctx, cfg.ValkeyAddr); err != nil {
		m.db.Close()
		return nil, err
	}
	if m.host, err = host.New(ctx, host.Options{CacheDir: cfg.PolicyCacheDir, Deadline: cfg.PolicyDeadline,
		MemoryLimitPages: cfg.PolicyMemoryPages}); err != nil {
		m.bus.Close()
		m.db.Close()
		return nil, fmt.Errorf("starting policy host: %w", err)
	}
	m.events = httpapi.NewBroker()
	m.db.OnChange(m.events.Publish)
	m.api = httpapi.New(log, m.db, m, m.events, httpapi.Config{Secret: cfg.Secret, PublicURL: cfg.PublicURL,
		AppsDomain: cfg.AppsDomain, EdgePort: cfg.EdgePort, PortMode: cfg.portMode()})
	return m, nil
}

// Handler is the REST API.
func (m *Manager) Handler() http.Handler { return m.api }

// Close releases the connections and the policy host.
func (m *Manager) Close() {
	_ = m.host.Close(context.Background())
	m.bus.Close()
	m.db.Close()
}

// Start runs the event consumer, the scheduling loop and the lost-agent
// sweep until ctx ends; the returned function waits for them to stop.
func (m *Manager) Start(ctx context.Context) (wait func()) {
	m.recover(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		err := m.bus.Consume(ctx, m.log, api.EventStream, api.ManagerGroup, m.cfg.InstanceName, m.handleEvent)
		if err != nil && ctx.Err() == nil {
			m.log.Error("event consumer stopped", "err", err)
		}
	}()
	go func() {
		defer wg.Done()
		m.scheduleLoop(ctx)
	}()
	m.Wake()
	return wg.Wait
}

// Run runs a manager until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	m, err := New(ctx, log, cfg)
	if err != nil {
		return err
	}
	defer m.Close()
	ln, err := net.Listen("tcp", m.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", m.cfg.Listen, err)
	}
	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	wait := m.Start(loopCtx)
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("manager listening", "addr", ln.Addr().String(), "instance", m.cfg.InstanceName)
	select {
	case err = <-served:
		err = fmt.Errorf("serving API: %w", err)
	case <-ctx.Done():
		log.Info("manager shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		err = nil
	}
	stopLoops()
	wait()
	return err
}

// bootstrap creates the configured admin when no account exists yet.
func (m *Manager) bootstrap(ctx context.Context) error {
	ba := m.cfg.BootstrapAdmin
	if ba == nil {
		return nil
	}
	n, err := m.db.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	if ba.Email == "" || ba.Password == "" {
		return errors.New("bootstrap admin needs an email and a password")
	}
	hash, err := auth.HashPassword(ba.Password)
	if err != nil {
		return fmt.Errorf("creating bootstrap admin: %w", err)
	}
	ak, sk := ba.AccessKey, ba.SecretKey
	if ak == "" || sk == "" {
		ak, sk = auth.NewKeypair()
	}
	_, err = m.db.CreateUser(ctx, database.NewUser{Email: ba.Email, PasswordHash: hash, Role: api.RoleAdmin, AccessKey: ak, SecretKey: sk})
	if errors.Is(err, database.ErrConflict) {
		return nil // another manager was faster
	}
	if err != nil {
		return fmt.Errorf("creating bootstrap admin: %w", err)
	}
	m.log.Info("created bootstrap admin", "email", ba.Email)
	return nil
}

// recover repairs what a crash may have left half done: routes of running
// sessions are written again, and placed sessions whose create command
// may not have gone out get it again (agents treat creates idempotently).
func (m *Manager) recover(ctx context.Context) {
	recs, err := m.db.SessionsByStatus(ctx, api.StatusRunning, api.StatusScheduled)
	if err != nil {
		m.log.Warn("recovering sessions", "err", err)
		return
	}
	for _, r := range recs {
		switch r.Status {
		case api.StatusRunning:
			m.publishRoutes(ctx, r)
		case api.StatusScheduled:
			m.sendCreate(ctx, r)
		}
	}
}
