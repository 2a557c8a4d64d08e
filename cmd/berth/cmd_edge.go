package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/berth-dev/berth/caddymodules/all"
	"github.com/berth-dev/berth/caddymodules/edge"
)

// runEdge runs `berth edge ...`: Caddy's own command line (run, validate,
// adapt, list-modules, ...) with Berth's modules compiled in. Caddy handles
// signals and exits the process itself.
//
// A Caddyfile site address cannot hold a port range, so for port-mapping
// mode the top-level Caddyfile lists its sites through BERTH_APP_SITES;
// when that is unset, runEdge derives it from BERTH_APP_PORTS (default
// 10200-10299): "http://:10200 http://:10201 ...". The Caddyfile adapter
// merges these identical sites into one server.
func runEdge(_ context.Context, args []string) error {
	if _, set := os.LookupEnv("BERTH_APP_SITES"); !set {
		ports := os.Getenv("BERTH_APP_PORTS")
		if ports == "" {
			ports = "10200-10299"
		}
		sites, err := appSites(ports)
		if err != nil {
			return fmt.Errorf("setting up app ports: %w", err)
		}
		os.Setenv("BERTH_APP_SITES", sites)
	}
	os.Args = append([]string{"berth"}, args...)
	caddycmd.Main()
	return nil
}

// appSites turns a port range "first-last" into Caddyfile site addresses,
// one per port.
func appSites(ports string) (string, error) {
	pr, err := edge.ParsePortRange(ports)
	if err != nil {
		return "", err
	}
	if pr.First == 0 {
		return "", fmt.Errorf("app port range %q is off, but the Caddyfile needs at least one app port", ports)
	}
	if pr.Last-pr.First >= 4096 {
		return "", fmt.Errorf("app port range %q is too large: at most 4096 ports", ports)
	}
	var b strings.Builder
	for p := pr.First; p <= pr.Last; p++ {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("http://:" + strconv.Itoa(p))
	}
	return b.String(), nil
}
