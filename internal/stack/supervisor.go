package stack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// supervisor runs the components as child processes, each in its own
// process group with its output in var/log/<name>.log, and restarts one
// that dies (a crashed agent comes back and re-adopts its containers).
type supervisor struct {
	log    *slog.Logger
	bin    string
	env    []string
	logDir string

	mu      sync.Mutex
	order   []string
	running map[string]*exec.Cmd
	wg      sync.WaitGroup
	stopped bool
}

func newSupervisor(log *slog.Logger, bin string, env []string, logDir string) *supervisor {
	return &supervisor{log: log, bin: bin, env: env, logDir: logDir, running: map[string]*exec.Cmd{}}
}

func (s *supervisor) start(ctx context.Context, name string, args ...string) {
	s.mu.Lock()
	s.order = append(s.order, name)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		backoff := time.Second
		for {
			started := time.Now()
			err := s.runOnce(name, args)
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if stopped || ctx.Err() != nil {
				return
			}
			if time.Since(started) > 30*time.Second {
				backoff = time.Second
			}
			s.log.Warn("component exited; restarting", "component", name, "err", err, "in", backoff, "log", filepath.Join(s.logDir, name+".log"))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			if backoff < 8*time.Second {
				backoff *= 2
			}
		}
	}()
}

func (s *supervisor) runOnce(name string, args []string) error {
	f, err := os.OpenFile(filepath.Join(s.logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	defer f.Close()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	s.running[name] = cmd
	s.mu.Unlock()
	pidFile := filepath.Join(filepath.Dir(s.logDir), "run", name+".pid")
	_ = os.WriteFile(pidFile, []byte(fmt.Sprintf("%d\n", cmd.Process.Pid)), 0o644)
	defer os.Remove(pidFile)
	s.log.Info("component started", "component", name, "pid", cmd.Process.Pid)
	err = cmd.Wait()
	s.mu.Lock()
	delete(s.running, name)
	s.mu.Unlock()
	return err
}

// stopAll sends SIGTERM to the components in reverse start order, waiting
// up to 15 s for each before SIGKILL.
func (s *supervisor) stopAll() {
	s.mu.Lock()
	s.stopped = true
	order := append([]string(nil), s.order...)
	s.mu.Unlock()
	for i := len(order) - 1; i >= 0; i-- {
		s.mu.Lock()
		cmd := s.running[order[i]]
		s.mu.Unlock()
		if cmd == nil {
			continue
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			s.mu.Lock()
			_, alive := s.running[order[i]]
			s.mu.Unlock()
			if !alive {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.mu.Lock()
		if c := s.running[order[i]]; c != nil {
			_ = c.Process.Kill()
		}
		s.mu.Unlock()
	}
	s.wg.Wait()
}
