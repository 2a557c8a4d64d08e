// Package dbtest starts throwaway PostgreSQL 15 clusters for tests: initdb
// and pg_ctl in a private directory on a free port, fsync off. As root the
// server runs as the postgres user. Tests skip when the binaries are absent.
//
// A package that calls Main from its TestMain shares one cluster between its
// tests; each Start call still gets a fresh, empty database.
package dbtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinDir holds the PostgreSQL server binaries.
const BinDir = "/usr/lib/postgresql/15/bin"

// Server is a running throwaway cluster.
type Server struct {
	dir  string
	port int
	asPG bool
	next atomic.Int64
}

// shared is the cluster Main starts on first use and stops at the end.
var shared struct {
	sync.Mutex
	on  bool
	srv *Server
	err error
}

// Main runs a test binary's tests with one cluster shared by all Start
// calls, and stops it afterwards. Use it as TestMain's body:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
func Main(m *testing.M) {
	shared.Lock()
	shared.on = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	shared.Unlock()
	os.Exit(code)
}

// Available reports whether the PostgreSQL binaries are installed.
func Available() bool {
	_, err := os.Stat(filepath.Join(BinDir, "initdb"))
	return err == nil
}

// Start returns the URL of a fresh empty database, skipping t if
// PostgreSQL is not installed. Without Main, the cluster is the test's own
// and stops when it ends.
func Start(t testing.TB) string {
	t.Helper()
	if !Available() {
		t.Skip("PostgreSQL not installed: no " + filepath.Join(BinDir, "initdb"))
	}
	var srv *Server
	shared.Lock()
	if shared.on {
		if shared.srv == nil && shared.err == nil {
			shared.srv, shared.err = StartServer()
		}
		srv = shared.srv
		if shared.err != nil {
			shared.Unlock()
			t.Fatalf("starting PostgreSQL: %v", shared.err)
		}
	}
	shared.Unlock()
	if srv == nil {
		var err error
		srv, err = StartServer()
		if err != nil {
			t.Fatalf("starting PostgreSQL: %v", err)
		}
		t.Cleanup(srv.Stop)
	}
	url, err := srv.NewDatabase(context.Background())
	if err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	return url
}

// StartServer initialises and starts a cluster in a new temporary
// directory.
func StartServer() (*Server, error) {
	dir, err := os.MkdirTemp("", "berth-pg-")
	if err != nil {
		return nil, fmt.Errorf("making cluster dir: %w", err)
	}
	s := &Server{dir: dir, asPG: os.Geteuid() == 0}
	if s.asPG {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("handing cluster dir to postgres: %w", err)
		}
	}
	if out, err := s.pg("initdb", "-D", s.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	// Retry on a port race with another process.
	for try := 0; ; try++ {
		s.port, err = freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
			s.port, dir)
		out, err := s.pg("pg_ctl", "-D", s.data(), "-l", filepath.Join(dir, "server.log"), "-w", "-t", "30", "-o", opts, "start").CombinedOutput()
		if err == nil {
			return s, nil
		}
		if try == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pg_ctl start: %w: %s %s", err, out, log)
		}
	}
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) pg(bin string, args ...string) *exec.Cmd {
	path := filepath.Join(BinDir, bin)
	var cmd *exec.Cmd
	if s.asPG {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.Command(path, args...)
	}
	cmd.Dir = s.dir // the postgres user must be able to enter the cwd
	return cmd
}

// URL is the connection URL of database name.
func (s *Server) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// NewDatabase creates a fresh database and returns its URL.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("connecting to test cluster: %w", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("test_%d", s.next.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// Stop stops the cluster and removes its files.
func (s *Server) Stop() {
	_ = s.pg("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop").Run()
	os.RemoveAll(s.dir)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
