// Package bustest starts throwaway redis-server (or valkey-server)
// processes for tests, on a free loopback port with a private directory and
// no persistence. Tests skip when neither binary is installed.
package bustest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// StartRedis starts a server for t and returns its "host:port"; it stops
// when t ends.
func StartRedis(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("valkey-server")
	if err != nil {
		bin, err = exec.LookPath("redis-server")
	}
	if err != nil {
		t.Skip("neither valkey-server nor redis-server is installed")
	}
	dir := t.TempDir()
	for try := 0; ; try++ {
		addr, stop, err := start(bin, dir)
		if err == nil {
			t.Cleanup(stop)
			return addr
		}
		if try == 2 {
			t.Fatalf("starting %s: %v", bin, err)
		}
	}
}

func start(bin, dir string) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("finding a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "server.log"))
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return "", nil, fmt.Errorf("server exited: %s", log)
		default:
		}
		if ping(addr) {
			return addr, stop, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("server on %s did not answer PING", addr)
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}
