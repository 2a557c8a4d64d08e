package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/manager"
)

// runManager runs `berth manager`: the control plane. Each flag falls back
// to its environment variable, then to the default.
func runManager(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: berth manager [flags]")
		fs.PrintDefaults()
	}
	listen := fs.String("listen", managerEnv("BERTH_MANAGER_LISTEN", "127.0.0.1:8081"), "REST API address (BERTH_MANAGER_LISTEN)")
	pg := fs.String("postgres", managerEnv("BERTH_POSTGRES", ""), "PostgreSQL URL (BERTH_POSTGRES)")
	valkey := fs.String("valkey", managerEnv("BERTH_VALKEY", "127.0.0.1:6379"), "Valkey host:port (BERTH_VALKEY)")
	secret := fs.String("secret", managerEnv("BERTH_SECRET", ""), "hex app-token secret shared with the edge (BERTH_SECRET)")
	public := fs.String("public-url", managerEnv("BERTH_PUBLIC_URL", "http://localhost:8080"), "URL browsers use for the edge (BERTH_PUBLIC_URL)")
	domain := fs.String("apps-domain", managerEnv("BERTH_APPS_DOMAIN", "apps.localhost"), "wildcard app domain (BERTH_APPS_DOMAIN)")
	edgePort := fs.Int("edge-port", managerEnvInt("BERTH_EDGE_PORT", 8080), "edge HTTP port in app URLs (BERTH_EDGE_PORT)")
	appPorts := fs.String("app-ports", managerEnv("BERTH_APP_PORTS", "10200-10299"), `edge port-mapping range "LO-HI", or "off" (BERTH_APP_PORTS)`)
	adminFile := fs.String("admin-file", managerEnv("BERTH_ADMIN_FILE", ""), `JSON {"email","password","access_key","secret_key"} of the admin to create when there are no users (BERTH_ADMIN_FILE)`)
	instance := fs.String("instance", managerEnv("BERTH_MANAGER_INSTANCE", ""), "stable name of this manager in the event consumer group (BERTH_MANAGER_INSTANCE; default the host name)")
	cacheDir := fs.String("policy-cache", managerEnv("BERTH_POLICY_CACHE", ""), "directory for compiled Wasm policies (BERTH_POLICY_CACHE; empty: memory)")
	sweep := fs.Duration("sweep", 5*time.Second, "period of the forced scheduling pass")
	lost := fs.Duration("agent-lost-after", 30*time.Second, "mark an agent LOST after this long without a heartbeat")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("berth manager: unexpected argument %q", fs.Arg(0))
	}
	cfg := manager.Config{Listen: *listen, PostgresURL: *pg, ValkeyAddr: *valkey, PublicURL: *public, AppsDomain: *domain,
		EdgePort: *edgePort, InstanceName: *instance, PolicyCacheDir: *cacheDir, SweepEvery: *sweep, AgentLostAfter: *lost}
	var err error
	if cfg.Secret, err = hex.DecodeString(strings.TrimSpace(*secret)); err != nil || len(cfg.Secret) == 0 {
		return errors.New("berth manager: BERTH_SECRET (or --secret) must be set to a hex string of at least 32 digits")
	}
	if cfg.AppPorts, err = parsePortRange(*appPorts); err != nil {
		return fmt.Errorf("berth manager: %w", err)
	}
	if *adminFile != "" {
		b, err := os.ReadFile(*adminFile)
		if err != nil {
			return fmt.Errorf("berth manager: reading admin file: %w", err)
		}
		var ba manager.BootstrapAdmin
		if err := json.Unmarshal(b, &ba); err != nil {
			return fmt.Errorf("berth manager: parsing admin file %s: %w", *adminFile, err)
		}
		cfg.BootstrapAdmin = &ba
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "manager")
	return manager.Run(ctx, log, cfg)
}

// parsePortRange parses "LO-HI"; "", "0" and "off" turn the range off.
func parsePortRange(s string) ([2]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || s == "off" {
		return [2]int{}, nil
	}
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return [2]int{}, fmt.Errorf("bad app port range %q: want LO-HI, e.g. 10200-10299, or off", s)
	}
	return [2]int{a, b}, nil
}

// managerEnv returns the environment variable key, or def when it is
// unset or empty.
func managerEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// managerEnvInt is managerEnv for integers; a malformed value gives def.
func managerEnvInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return n
	}
	return def
}
