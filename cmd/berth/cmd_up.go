package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"strconv"

	"github.com/berth-dev/berth/internal/stack"
)

// runUp runs `berth up`: the whole platform on this machine, in the
// foreground, with its state under ./var.
func runUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("berth up", flag.ContinueOnError)
	var cfg stack.Config
	fs.StringVar(&cfg.Var, "var", upEnv("BERTH_VAR", "var"), "state directory")
	fs.StringVar(&cfg.Caddyfile, "caddyfile", upEnv("BERTH_CADDYFILE", "Caddyfile"), "edge configuration")
	fs.StringVar(&cfg.PostgresURL, "postgres", os.Getenv("BERTH_POSTGRES"), "PostgreSQL URL to use instead of a private cluster")
	fs.StringVar(&cfg.ValkeyAddr, "valkey", os.Getenv("BERTH_VALKEY"), "Valkey/Redis address to use instead of a private server")
	fs.StringVar(&cfg.PodmanSocket, "podman-socket", os.Getenv("BERTH_PODMAN_SOCKET"), "Podman service socket (unix:///path) to use instead of Berth's own")
	edgePort, _ := strconv.Atoi(upEnv("BERTH_EDGE_PORT", "8080"))
	fs.IntVar(&cfg.EdgePort, "edge-port", edgePort, "edge HTTP port")
	mgrPort, _ := strconv.Atoi(upEnv("BERTH_MANAGER_PORT", "8081"))
	fs.IntVar(&cfg.ManagerPort, "manager-port", mgrPort, "manager port on 127.0.0.1")
	fs.StringVar(&cfg.AppsDomain, "apps-domain", upEnv("BERTH_APPS_DOMAIN", "apps.localhost"), "wildcard domain of app URLs")
	fs.StringVar(&cfg.AppPorts, "app-ports", upEnv("BERTH_APP_PORTS", "10200-10299"), "port range of port-mapping mode")
	fs.StringVar(&cfg.AgentID, "agent-id", os.Getenv("BERTH_AGENT_ID"), "local agent's ID (default: host name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return stack.Run(ctx, log, cfg)
}

func upEnv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
