package stack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/agent/runtime/podman/podmanconf"
)

type podman struct {
	dir    string
	socket string // unix:///...
	conf   string
	stop   func()
}

// startPodman runs `podman system service` on a socket under dir, with the
// host's image store (so images built with `podman build` are visible) but
// Berth's own containers.conf.
func startPodman(ctx context.Context, log *slog.Logger, dir string) (*podman, error) {
	bin, err := exec.LookPath("podman")
	if err != nil {
		return nil, fmt.Errorf("podman not found: apt-get install podman runc conmon netavark aardvark-dns iptables catatonit, or pass --podman-socket")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(podmanconf.ContainersConf()), 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", conf, err)
	}
	sock := filepath.Join(dir, "podman.sock")
	if len(sock) > 100 {
		sum := sha256.Sum256([]byte(dir))
		sock = "/tmp/berth-podman-" + hex.EncodeToString(sum[:4]) + ".sock"
	}
	_ = os.Remove(sock)
	logf, err := os.OpenFile(filepath.Join(dir, "service.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening podman log: %w", err)
	}
	cmd := exec.Command(bin, "system", "service", "--time=0", "unix://"+sock)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting podman system service: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	p := &podman{dir: dir, socket: "unix://" + sock, conf: conf}
	p.stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	if err := waitFor(ctx, 20*time.Second, func() error { return pingPodman(sock) }); err != nil {
		p.stop()
		return nil, fmt.Errorf("waiting for the podman service (log: %s): %w", filepath.Join(dir, "service.log"), err)
	}
	log.Info("podman service up", "socket", p.socket)
	return p, nil
}

func pingPodman(sock string) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := c.Get("http://d/v4.0.0/libpod/_ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping answered %d", resp.StatusCode)
	}
	return nil
}

func (p *podman) cli(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, "podman", append([]string{"--remote", "--url", p.socket}, args...)...)
	c.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	return c
}

// suspend stops the agent's running session containers when the stack
// stops, and records them so the next start brings them back.
func (p *podman) suspend(log *slog.Logger, agentID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := p.cli(ctx, "ps", "-q", "--filter", "label=berth.agent="+agentID, "--filter", "status=running").Output()
	if err != nil {
		log.Warn("listing session containers", "err", err)
		return
	}
	ids := strings.Fields(string(out))
	if len(ids) == 0 {
		return
	}
	if err := os.WriteFile(filepath.Join(p.dir, "suspended"), []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		log.Warn("recording suspended containers", "err", err)
		return
	}
	if out, err := p.cli(ctx, append([]string{"stop", "-t", "3"}, ids...)...).CombinedOutput(); err != nil {
		log.Warn("stopping session containers", "err", err, "out", string(out))
	}
	log.Info("session containers stopped; they restart with the stack", "count", len(ids))
}

// resume starts the containers suspend stopped.
func (p *podman) resume(ctx context.Context, log *slog.Logger) {
	file := filepath.Join(p.dir, "suspended")
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	ids := strings.Fields(string(b))
	for _, id := range ids {
		if out, err := p.cli(ctx, "start", id).CombinedOutput(); err != nil {
			log.Warn("restarting session container", "id", id, "err", err, "out", strings.TrimSpace(string(out)))
		}
	}
	_ = os.Remove(file)
	log.Info("session containers restarted", "count", len(ids))
}
