package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/berth-dev/berth/agent"
)

// runAgent runs `berth agent`: the worker daemon. Each flag falls back to
// its environment variable, then to the default.
func runAgent(ctx context.Context, args []string) error {
	hostname, _ := os.Hostname()
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: berth agent [--id ID] [--group G] [--address HOST] [--valkey HOST:PORT] [--podman-socket URL]")
		fs.PrintDefaults()
	}
	id := fs.String("id", agentEnv("BERTH_AGENT_ID", hostname), "agent ID (BERTH_AGENT_ID)")
	group := fs.String("group", agentEnv("BERTH_GROUP", "default"), "resource group (BERTH_GROUP)")
	address := fs.String("address", agentEnv("BERTH_AGENT_ADDRESS", "127.0.0.1"), "address the edge dials for published container ports (BERTH_AGENT_ADDRESS)")
	valkey := fs.String("valkey", agentEnv("BERTH_VALKEY", "127.0.0.1:6379"), "Valkey host:port (BERTH_VALKEY)")
	socket := fs.String("podman-socket", agentEnv("BERTH_PODMAN_SOCKET", "unix:///run/podman/podman.sock"), "Podman service URL (BERTH_PODMAN_SOCKET)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("berth agent: unexpected argument %q", fs.Arg(0))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	return agent.Run(ctx, log, agent.Config{
		ID:           *id,
		Group:        *group,
		Address:      *address,
		ValkeyAddr:   *valkey,
		PodmanSocket: *socket,
		Version:      versionString(),
	})
}

// agentEnv returns the environment variable key, or def when it is unset or empty.
func agentEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
