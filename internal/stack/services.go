package stack

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type postgres struct {
	url  string
	stop func()
}

// startPostgres runs a private cluster under dir (initdb on first use). As
// root it runs the server as the postgres user; when that user cannot reach
// dir (a checkout in a 0700 home), the cluster lives under /var/tmp instead
// and the stack says so.
func startPostgres(ctx context.Context, log *slog.Logger, dir string) (*postgres, error) {
	bin, err := pgBinDir()
	if err != nil {
		return nil, err
	}
	asPG := os.Geteuid() == 0
	if asPG {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("running PostgreSQL as root needs the postgres user (apt-get install postgresql-15): %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", filepath.Dir(dir), err)
		}
		if exec.Command("runuser", "-u", "postgres", "--", "test", "-x", filepath.Dir(dir)).Run() != nil {
			sum := sha256.Sum256([]byte(dir))
			alt := "/var/tmp/berth-pg-" + hex.EncodeToString(sum[:4])
			log.Warn("the postgres user cannot reach the state dir; keeping the cluster elsewhere", "wanted", dir, "using", alt)
			if err := os.WriteFile(dir+".location", []byte(alt+"\n"), 0o644); err != nil {
				return nil, fmt.Errorf("recording cluster location: %w", err)
			}
			dir = alt
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	runCtx := func(ctx context.Context, args ...string) *exec.Cmd {
		if asPG {
			args = append([]string{"-u", "postgres", "--"}, args...)
			c := exec.CommandContext(ctx, "runuser", args...)
			c.Dir = dir
			return c
		}
		c := exec.CommandContext(ctx, args[0], args[1:]...)
		c.Dir = dir
		return c
	}
	run := func(args ...string) *exec.Cmd { return runCtx(ctx, args...) }
	if asPG {
		if out, err := exec.Command("chown", "-R", "postgres:postgres", dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("giving %s to the postgres user: %w: %s", dir, err, out)
		}
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		log.Info("creating PostgreSQL cluster", "dir", data)
		out, err := run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, lastLines(out, 5))
		}
	}
	port, err := stickyPort(filepath.Join(dir, "port"), 5433)
	if err != nil {
		return nil, err
	}
	if asPG {
		_ = exec.Command("chown", "postgres:postgres", filepath.Join(dir, "port")).Run()
	}
	if runCtx(ctx, filepath.Join(bin, "pg_ctl"), "-D", data, "status").Run() == nil {
		log.Info("PostgreSQL already running; stopping it first", "dir", data)
		_ = run(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").Run()
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c synchronous_commit=off", port, dir)
	out, err := run(filepath.Join(bin, "pg_ctl"), "-D", data, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "-o", opts, "start").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("starting PostgreSQL (log: %s): %w: %s", filepath.Join(dir, "server.log"), err, lastLines(out, 5))
	}
	stop := func() {
		c := runCtx(context.Background(), filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop")
		if out, err := c.CombinedOutput(); err != nil {
			log.Warn("stopping PostgreSQL", "err", err, "out", string(out))
		}
	}
	// The database "berth" (createdb fails harmlessly when it exists).
	check := run(filepath.Join(bin, "psql"), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres", "-tAc", "SELECT 1 FROM pg_database WHERE datname='berth'")
	if out, err := check.Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		if out, err := run(filepath.Join(bin, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "postgres", "berth").CombinedOutput(); err != nil {
			stop()
			return nil, fmt.Errorf("creating database berth: %w: %s", err, out)
		}
	}
	log.Info("PostgreSQL up", "port", port)
	return &postgres{url: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/berth?sslmode=disable", port), stop: stop}, nil
}

func pgBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVer(dirs[i]) > pgVer(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb) not found: apt-get install postgresql-15, or pass --postgres URL")
}

func pgVer(d string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
	return n
}

type valkey struct {
	addr string
	stop func()
}

// startValkey runs valkey-server, or redis-server where the distribution
// has no Valkey, with append-only persistence under dir.
func startValkey(ctx context.Context, log *slog.Logger, dir string) (*valkey, error) {
	bin, err := exec.LookPath("valkey-server")
	if err != nil {
		if bin, err = exec.LookPath("redis-server"); err != nil {
			return nil, fmt.Errorf("no valkey-server or redis-server: apt-get install redis-server, or pass --valkey ADDR")
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	port, err := stickyPort(filepath.Join(dir, "port"), 6390)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--save", "", "--logfile", filepath.Join(dir, "server.log"), "--daemonize", "no")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitFor(ctx, 15*time.Second, func() error { return pingRESP(addr) }); err != nil {
		stop()
		return nil, fmt.Errorf("waiting for %s on %s (log: %s): %w", filepath.Base(bin), addr, filepath.Join(dir, "server.log"), err)
	}
	log.Info("Valkey-compatible server up", "bin", filepath.Base(bin), "addr", addr)
	return &valkey{addr: addr, stop: stop}, nil
}

func pingRESP(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("answered %q", strings.TrimSpace(line))
	}
	return nil
}

// stickyPort returns the port recorded in file, or the first free port from
// start on (recorded for next time), so restarts find the same addresses.
func stickyPort(file string, start int) (int, error) {
	if b, err := os.ReadFile(file); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return p, nil
		}
	}
	for p := start; p < start+200; p++ {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		l.Close()
		if err := os.WriteFile(file, []byte(strconv.Itoa(p)+"\n"), 0o644); err != nil {
			return 0, fmt.Errorf("recording port: %w", err)
		}
		return p, nil
	}
	return 0, fmt.Errorf("no free port in %d-%d", start, start+199)
}

func waitFor(ctx context.Context, limit time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return err
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
