// Package stack runs Berth's local platform for `berth up`: a private
// PostgreSQL cluster and Valkey/Redis server under var/, Berth's own
// `podman system service` (with a containers.conf only that service reads),
// and the manager, agent and edge as supervised child processes. All state
// stays under var/; stopping the stack stops everything it started.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config says where the stack keeps its state and what it may reuse.
type Config struct {
	// Var is the state directory (default ./var).
	Var string
	// Binary is the berth executable to start the components with.
	Binary string
	// Caddyfile is the edge configuration (default ./Caddyfile).
	Caddyfile string
	// PostgresURL, when set, is used instead of a private cluster.
	PostgresURL string
	// ValkeyAddr, when set, is used instead of a private server.
	ValkeyAddr string
	// PodmanSocket, when set ("unix:///path"), is used instead of starting
	// Berth's own Podman service.
	PodmanSocket string
	// EdgePort is the edge's HTTP port (default 8080).
	EdgePort int
	// ManagerPort is the manager's port on 127.0.0.1 (default 8081).
	ManagerPort int
	// AppsDomain is the wildcard app domain (default apps.localhost).
	AppsDomain string
	// AppPorts is the port-mapping range (default "10200-10299").
	AppPorts string
	// AgentID names the local agent (default: the host name).
	AgentID string
	// Env is extra environment for the child processes.
	Env []string
}

func (c *Config) defaults() error {
	if c.Var == "" {
		c.Var = "var"
	}
	v, err := filepath.Abs(c.Var)
	if err != nil {
		return fmt.Errorf("resolving state dir: %w", err)
	}
	c.Var = v
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("finding the berth binary: %w", err)
		}
		c.Binary = exe
	}
	if c.Caddyfile == "" {
		c.Caddyfile = "Caddyfile"
	}
	if c.EdgePort == 0 {
		c.EdgePort = 8080
	}
	if c.ManagerPort == 0 {
		c.ManagerPort = 8081
	}
	if c.AppsDomain == "" {
		c.AppsDomain = "apps.localhost"
	}
	if c.AppPorts == "" {
		c.AppPorts = "10200-10299"
	}
	if c.AgentID == "" {
		h, _ := os.Hostname()
		if h == "" {
			h = "local"
		}
		c.AgentID = h
	}
	return nil
}

// Admin is var/admin.json: the bootstrap admin's login and keypair.
type Admin struct {
	Endpoint  string `json:"endpoint"`
	Email     string `json:"email"`
	Password  string `json:"password"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// Run starts everything, waits until the edge's /healthz answers 200,
// prints the login, and then supervises the components until ctx ends;
// then it stops them all in reverse order.
func Run(ctx context.Context, log *slog.Logger, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	for _, d := range []string{"log", "run"} {
		if err := os.MkdirAll(filepath.Join(cfg.Var, d), 0o755); err != nil {
			return fmt.Errorf("creating state dir: %w", err)
		}
	}
	if _, err := os.Stat(cfg.Caddyfile); err != nil {
		return fmt.Errorf("reading edge config: %w", err)
	}
	if err := preflight(cfg); err != nil {
		return err
	}
	secret, err := secretHex(filepath.Join(cfg.Var, "secret"))
	if err != nil {
		return err
	}
	endpoint := fmt.Sprintf("http://localhost:%d", cfg.EdgePort)
	admin, err := adminFile(filepath.Join(cfg.Var, "admin.json"), endpoint)
	if err != nil {
		return err
	}

	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()

	pgURL := cfg.PostgresURL
	if pgURL == "" {
		pg, err := startPostgres(ctx, log, filepath.Join(cfg.Var, "postgres"))
		if err != nil {
			return err
		}
		stops = append(stops, pg.stop)
		pgURL = pg.url
	}
	vkAddr := cfg.ValkeyAddr
	if vkAddr == "" {
		vk, err := startValkey(ctx, log, filepath.Join(cfg.Var, "valkey"))
		if err != nil {
			return err
		}
		stops = append(stops, vk.stop)
		vkAddr = vk.addr
	}
	podSock := cfg.PodmanSocket
	if podSock == "" {
		pm, err := startPodman(ctx, log, filepath.Join(cfg.Var, "podman"))
		if err != nil {
			return err
		}
		stops = append(stops, pm.stop)
		podSock = pm.socket
		// Session containers were stopped with the stack: start them again
		// so their sessions come back RUNNING (the agent re-adopts them).
		pm.resume(ctx, log)
		stops = append(stops, func() { pm.suspend(log, cfg.AgentID) })
	}

	env := append(os.Environ(),
		"BERTH_VAR="+cfg.Var,
		"BERTH_POSTGRES="+pgURL,
		"BERTH_VALKEY="+vkAddr,
		"BERTH_SECRET="+secret,
		"BERTH_PODMAN_SOCKET="+podSock,
		"BERTH_MANAGER_LISTEN=127.0.0.1:"+strconv.Itoa(cfg.ManagerPort),
		"BERTH_MANAGER_ADDR=127.0.0.1:"+strconv.Itoa(cfg.ManagerPort),
		"BERTH_MANAGER_URL=http://127.0.0.1:"+strconv.Itoa(cfg.ManagerPort),
		"BERTH_PUBLIC_URL="+endpoint,
		"BERTH_EDGE_PORT="+strconv.Itoa(cfg.EdgePort),
		"BERTH_APPS_DOMAIN="+cfg.AppsDomain,
		"BERTH_APP_PORTS="+cfg.AppPorts,
		"BERTH_AGENT_ID="+cfg.AgentID,
		"BERTH_ADMIN_FILE="+filepath.Join(cfg.Var, "admin.json"),
		"BERTH_POLICY_CACHE="+filepath.Join(cfg.Var, "policy-cache"),
	)
	env = append(env, cfg.Env...)

	sup := newSupervisor(log, cfg.Binary, env, filepath.Join(cfg.Var, "log"))
	stops = append(stops, sup.stopAll)
	sup.start(ctx, "manager", "manager")
	sup.start(ctx, "agent", "agent")
	sup.start(ctx, "edge", "edge", "run", "--config", cfg.Caddyfile, "--adapter", "caddyfile")

	if err := waitHealthy(ctx, fmt.Sprintf("http://127.0.0.1:%d/healthz", cfg.EdgePort), 90*time.Second); err != nil {
		return fmt.Errorf("waiting for the platform (logs in %s): %w", filepath.Join(cfg.Var, "log"), err)
	}
	fmt.Printf("Berth is up: %s\n  login: %s / %s  (also in %s)\n  CLI:   export BERTH_ENDPOINT=%s BERTH_ACCESS_KEY=%s BERTH_SECRET_KEY=%s\n  logs:  %s\nCtrl-C stops everything.\n",
		endpoint, admin.Email, admin.Password, filepath.Join(cfg.Var, "admin.json"),
		endpoint, admin.AccessKey, admin.SecretKey, filepath.Join(cfg.Var, "log"))
	_ = os.WriteFile(filepath.Join(cfg.Var, "run", "up.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	<-ctx.Done()
	fmt.Println("berth up: stopping ...")
	_ = os.Remove(filepath.Join(cfg.Var, "run", "up.pid"))
	return nil
}

// preflight fails fast, with the flag to change, when a port the stack
// must listen on is already taken.
func preflight(cfg Config) error {
	busy := func(port int) bool {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return true
		}
		l.Close()
		return false
	}
	if busy(cfg.EdgePort) {
		return fmt.Errorf("port %d (the edge) is already in use: stop what holds it or pass --edge-port", cfg.EdgePort)
	}
	if busy(cfg.ManagerPort) {
		return fmt.Errorf("port %d (the manager) is already in use: stop what holds it or pass --manager-port", cfg.ManagerPort)
	}
	first, last, err := portRange(cfg.AppPorts)
	if err != nil {
		return err
	}
	for p := first; p <= last; p++ {
		if busy(p) {
			return fmt.Errorf("port %d of the app port range %s is already in use: pass another --app-ports range", p, cfg.AppPorts)
		}
	}
	return nil
}

// portRange parses "10200-10299"; "off" or "" gives an empty range.
func portRange(s string) (int, int, error) {
	if s == "" || s == "off" || s == "0" {
		return 1, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	first, err1 := strconv.Atoi(a)
	last, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || first < 1 || last > 65535 || first > last {
		return 0, 0, fmt.Errorf("bad app port range %q: want FIRST-LAST, e.g. 10200-10299", s)
	}
	return first, last, nil
}

func waitHealthy(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: 2 * time.Second}
	var last string
	for time.Now().Before(deadline) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		resp, err := c.Get(url)
		if err == nil {
			var h struct {
				Components map[string]string `json:"components"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s answered %d %v", url, resp.StatusCode, h.Components)
		} else {
			last = err.Error()
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("not healthy after %s: %s", limit, last)
}

func secretHex(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return string(trimSpace(b)), nil
	}
	s := randHex(32)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing secret: %w", err)
	}
	return s, nil
}

func adminFile(path, endpoint string) (Admin, error) {
	var a Admin
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &a); err != nil {
			return a, fmt.Errorf("reading %s: %w", path, err)
		}
		return a, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return a, fmt.Errorf("reading %s: %w", path, err)
	}
	a = Admin{
		Endpoint:  endpoint,
		Email:     "admin@berth.local",
		Password:  randHex(8),
		AccessKey: "AK" + randHex(9),
		SecretKey: randHex(20),
	}
	b, _ := json.MarshalIndent(a, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return a, fmt.Errorf("writing %s: %w", path, err)
	}
	return a, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
