package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testnet"
)

const buildTags = "remote,containers_image_openpgp,exclude_graphdriver_btrfs,exclude_graphdriver_devicemapper"

var (
	berthBin string
	repoRoot string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	wd, _ := os.Getwd()
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	dir, err := os.MkdirTemp("", "berth-e2e-bin-")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	berthBin = filepath.Join(dir, "berth")
	cmd := exec.Command("go", "build", "-tags="+buildTags, "-o", berthBin, "./cmd/berth")
	cmd.Dir = repoRoot
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Println("e2e: building berth:", err)
		os.Exit(1)
	}
	if out, err := exec.Command(filepath.Join(repoRoot, "examples/images/build.sh"), "--if-missing").CombinedOutput(); err != nil {
		fmt.Printf("e2e: building session images: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stack is one `berth up` under test, on free ports, with its own var dir.
type stack struct {
	t        *testing.T
	varDir   string
	edgePort int
	mgrPort  int
	appPorts string
	agentID  string
	cmd      *exec.Cmd
	done     chan error
	out      *bytes.Buffer
	admin    struct {
		Endpoint  string `json:"endpoint"`
		Email     string `json:"email"`
		Password  string `json:"password"`
		AccessKey string `json:"access_key"`
		SecretKey string `json:"secret_key"`
	}
}

func newStack(t *testing.T) *stack {
	t.Helper()
	v, err := os.MkdirTemp("", "berth-e2e-var-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(v, 0o755)
	base := testnet.FreePortRange(t, 5)
	s := &stack{t: t, varDir: v, edgePort: testnet.FreePort(t), mgrPort: testnet.FreePort(t),
		appPorts: fmt.Sprintf("%d-%d", base, base+4), agentID: fmt.Sprintf("e2e-%d", time.Now().UnixNano()%1e9)}
	t.Cleanup(func() {
		s.stop()
		// remove any session container this stack's agent left behind
		out, _ := exec.Command("podman", "ps", "-aq", "--filter", "label=berth.agent="+s.agentID).Output()
		if ids := strings.Fields(string(out)); len(ids) > 0 {
			_ = exec.Command("podman", append([]string{"rm", "-f", "-t", "0"}, ids...)...).Run()
		}
		if !t.Failed() {
			os.RemoveAll(v)
		} else {
			t.Logf("state kept in %s", v)
		}
	})
	s.start()
	return s
}

func (s *stack) start() {
	t := s.t
	t.Helper()
	s.out = &bytes.Buffer{}
	s.cmd = exec.Command(berthBin, "up", "--var", s.varDir, "--caddyfile", filepath.Join(repoRoot, "Caddyfile"),
		"--edge-port", strconv.Itoa(s.edgePort), "--manager-port", strconv.Itoa(s.mgrPort),
		"--app-ports", s.appPorts, "--agent-id", s.agentID)
	s.cmd.Dir = repoRoot
	s.cmd.Env = append(os.Environ(), "BERTH_EDGE_ADMIN=off")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting berth up: %v", err)
	}
	s.done = make(chan error, 1)
	go func(c *exec.Cmd, d chan error) { d <- c.Wait() }(s.cmd, s.done)
	deadline := time.Now().Add(150 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("berth up not healthy in time:\n%s\n%s", s.out.String(), s.logs())
		}
		select {
		case err := <-s.done:
			s.cmd = nil
			t.Fatalf("berth up exited early: %v\n%s\n%s", err, s.out.String(), s.logs())
		default:
		}
		resp, err := http.Get(s.url("/healthz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(s.varDir, "admin.json"))
	if err != nil {
		t.Fatalf("reading admin.json: %v", err)
	}
	if err := json.Unmarshal(b, &s.admin); err != nil {
		t.Fatalf("decoding admin.json: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(s.varDir, "admin.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.json mode = %v, want 0600", fi.Mode().Perm())
	}
}

// stop sends SIGTERM and waits for berth up to exit.
func (s *stack) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(90 * time.Second):
		s.t.Errorf("berth up did not stop within 90 s of SIGTERM")
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

func (s *stack) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", s.edgePort, path)
}

func (s *stack) logs() string {
	var b strings.Builder
	for _, n := range []string{"manager", "agent", "edge"} {
		data, _ := os.ReadFile(filepath.Join(s.varDir, "log", n+".log"))
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s.log (tail)\n%s\n", n, data)
	}
	return b.String()
}

// berth runs the CLI with the admin's credentials.
func (s *stack) berth(args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, berthBin, args...)
	cmd.Env = append(os.Environ(),
		"BERTH_ENDPOINT="+fmt.Sprintf("http://localhost:%d", s.edgePort),
		"BERTH_ACCESS_KEY="+s.admin.AccessKey, "BERTH_SECRET_KEY="+s.admin.SecretKey,
		"BERTH_CONFIG="+filepath.Join(s.varDir, "cli-config.json"))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return o.String(), e.String(), code
}

// mustJSON runs the CLI with --json and decodes stdout into v.
func (s *stack) mustJSON(v any, args ...string) {
	s.t.Helper()
	out, errOut, code := s.berth(append(args, "--json")...)
	if code != 0 {
		s.t.Fatalf("berth %s: exit %d: %s\n%s", strings.Join(args, " "), code, errOut, s.logs())
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		s.t.Fatalf("berth %s --json: stdout is not JSON (%v): %q", strings.Join(args, " "), err, out)
	}
}

// browser is an HTTP client that resolves every host to 127.0.0.1 (as
// browsers do for *.localhost) and keeps cookies.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Jar:     jar,
		Timeout: 15 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, "127.0.0.1:"+port)
		}},
	}
}

func eventually(t *testing.T, limit time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %s: %v", what, limit, err)
}
