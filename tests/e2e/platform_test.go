package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
)

// TestPlatform drives issue #2's user story end to end through the CLI and
// plain HTTP against a real `berth up` (PostgreSQL, Redis, Podman).
func TestPlatform(t *testing.T) {
	s := newStack(t)

	// healthz names each component
	var h api.Health
	getJSON(t, s.url("/healthz"), &h)
	for _, c := range []string{"manager", "database", "valkey", "agents"} {
		if _, ok := h.Components[c]; !ok {
			t.Errorf("healthz lacks component %q: %v", c, h.Components)
		}
	}

	// 2. create and wait: PENDING → SCHEDULED → PREPARING → RUNNING with reasons
	var sess api.Session
	s.mustJSON(&sess, "session", "create", "--image", "localhost/berth-hello", "--name", "demo", "--wait")
	if sess.Status != api.StatusRunning {
		t.Fatalf("session status = %s (%s), want RUNNING", sess.Status, sess.StatusInfo)
	}
	var info api.Session
	s.mustJSON(&info, "session", "info", "demo")
	var seen []string
	for _, hc := range info.History {
		if hc.Info == "" {
			t.Errorf("history entry %s has no reason", hc.Status)
		}
		seen = append(seen, string(hc.Status))
	}
	if got, want := strings.Join(seen, ">"), "PENDING>SCHEDULED>PREPARING>RUNNING"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}

	// 3. apps: wildcard URL + open_url; cookie flow; no cookie → no app
	var apps []api.App
	s.mustJSON(&apps, "session", "apps", "demo")
	if len(apps) != 1 || apps[0].Name != "web" {
		t.Fatalf("apps = %+v, want one app named web", apps)
	}
	app := apps[0]
	wantPrefix := fmt.Sprintf("http://%s.apps.localhost:%d/", api.HostLabel("demo", sess.ID, "web"), s.edgePort)
	if app.URL != wantPrefix || !strings.HasPrefix(app.OpenURL, wantPrefix) {
		t.Errorf("app URL = %q open_url = %q, want prefix %q", app.URL, app.OpenURL, wantPrefix)
	}
	checkNoAccess(t, app.URL)
	b, app, body := openApp(t, s, "demo")
	if !strings.Contains(body, "Hello from Berth") {
		t.Fatalf("open_url did not reach the app: %q", body)
	}
	if strings.Contains(body, "berth_app_") || strings.Contains(body, "berth_login") {
		t.Errorf("the app saw the edge's cookies:\n%s", body)
	}
	fetch(t, b, app.URL, 200) // the cookie keeps working
	resp, err := b.Get(app.OpenURL)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 && resp.Request.URL.Path == "/_berth/auth" {
			t.Errorf("a used open_url token was accepted again")
		}
	}
	if app.PortURL == "" {
		t.Errorf("app has no port_url: port-mapping mode should be on")
	} else {
		checkNoAccess(t, app.PortURL) // port-mapping mode is guarded the same way
		// a browser logged in on the edge is let through via the launch redirect
		pb := browser()
		resp, err := pb.Post(fmt.Sprintf("http://localhost:%d/api/v1/auth/login", s.edgePort), "application/json",
			strings.NewReader(`{"email":"`+s.admin.Email+`","password":"`+s.admin.Password+`"}`))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("browser login: %v %v", err, resp)
		}
		resp.Body.Close()
		req, _ := http.NewRequest("GET", app.PortURL, nil)
		req.Header.Set("Accept", "text/html")
		resp, err = pb.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", app.PortURL, err)
		}
		pbody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(pbody), "Hello from Berth") || !strings.HasPrefix(resp.Request.URL.String(), app.PortURL) {
			t.Errorf("port_url through login: %d at %s: %.200s", resp.StatusCode, resp.Request.URL, pbody)
		}
	}

	// 4. exec and logs
	out, errOut, code := s.berth("session", "exec", "demo", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3")
	if code != 3 || strings.TrimSpace(out) != "hi" {
		t.Errorf("exec: exit %d stdout %q stderr %q, want 3 and hi", code, out, errOut)
	}
	out, errOut, code = s.berth("session", "logs", "demo")
	if code != 0 || !strings.Contains(out, "berth-hello listening") {
		t.Errorf("logs: exit %d %q %q", code, out, errOut)
	}

	// bad input: duplicate name → 409, unknown image → ERROR naming it, too big → PENDING with reason
	_, errOut, code = s.berth("session", "create", "--image", "localhost/berth-hello", "--name", "demo")
	if code == 0 || !strings.Contains(errOut, "already") {
		t.Errorf("duplicate name: exit %d stderr %q, want a conflict error", code, errOut)
	}
	var bad api.Session
	_, _, _ = s.berth("session", "create", "--image", "localhost/no-such-image", "--name", "bad")
	eventually(t, 60*time.Second, "unknown image ends in ERROR", func() error {
		s.mustJSON(&bad, "session", "info", "bad")
		if bad.Status != api.StatusError || !strings.Contains(bad.StatusInfo, "localhost/no-such-image") {
			return fmt.Errorf("status %s %q", bad.Status, bad.StatusInfo)
		}
		return nil
	})
	var big api.Session
	s.mustJSON(&big, "session", "create", "--image", "localhost/berth-hello", "--name", "big", "--cpu", "512")
	eventually(t, 30*time.Second, "oversized session stays PENDING with a reason", func() error {
		s.mustJSON(&big, "session", "info", "big")
		if big.Status != api.StatusPending || !strings.Contains(strings.ToLower(big.StatusInfo), "cpu") {
			return fmt.Errorf("status %s %q", big.Status, big.StatusInfo)
		}
		return nil
	})
	s.berth("session", "rm", "big")

	// wrong password / bad signature → 401 problem+json
	resp, err = http.Post(s.url("/api/v1/auth/login"), "application/json", strings.NewReader(`{"email":"`+s.admin.Email+`","password":"nope"}`))
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, resp, 401)
	req, _ := http.NewRequest("GET", s.url("/api/v1/sessions"), nil)
	req.Header.Set("Authorization", "Berth signMethod=HMAC-SHA256, credential="+s.admin.AccessKey+":00")
	req.Header.Set("X-Berth-Date", time.Now().UTC().Format(time.RFC3339))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	checkProblem(t, resp, 401)

	// 7. a user-built image works by name
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Containerfile"), []byte("FROM localhost/berth-hello\nLABEL berth.service-ports=\"site:http:8080\"\n"), 0o644)
	mine := "localhost/berth-e2e-mine"
	if out, err := exec.Command("podman", "build", "-q", "-t", mine, dir).CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v: %s", err, out)
	}
	var m api.Session
	s.mustJSON(&m, "session", "create", "--image", mine, "--name", "mine", "--wait")
	var mapps []api.App
	s.mustJSON(&mapps, "session", "apps", "mine")
	if len(mapps) != 1 || mapps[0].Name != "site" {
		t.Fatalf("apps of mine = %+v", mapps)
	}
	if _, _, body := openApp(t, s, "mine"); !strings.Contains(body, "Hello from Berth") {
		t.Errorf("user image app: %q", body)
	}

	// agent killed with SIGKILL: the session stays RUNNING and its app answers
	pid := readPid(t, filepath.Join(s.varDir, "run", "agent.pid"))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing agent: %v", err)
	}
	eventually(t, 60*time.Second, "agent restarted", func() error {
		p := readPidSoft(filepath.Join(s.varDir, "run", "agent.pid"))
		if p == 0 || p == pid {
			return fmt.Errorf("agent pid still %d", p)
		}
		return nil
	})
	time.Sleep(3 * time.Second)
	s.mustJSON(&info, "session", "info", "demo")
	if info.Status != api.StatusRunning {
		t.Errorf("after agent SIGKILL: demo is %s (%s)", info.Status, info.StatusInfo)
	}
	fetch(t, b, app.URL, 200)
	out, _, code = s.berth("session", "exec", "demo", "--", "echo", "still here")
	if code != 0 || !strings.Contains(out, "still here") {
		t.Errorf("exec after agent restart: %d %q", code, out)
	}

	// 5. rm: TERMINATED, container gone
	var rm api.Session
	s.mustJSON(&rm, "session", "rm", "mine")
	eventually(t, 60*time.Second, "session mine TERMINATED and its container gone", func() error {
		s.mustJSON(&rm, "session", "info", m.ID)
		if rm.Status != api.StatusTerminated {
			return fmt.Errorf("status %s %q", rm.Status, rm.StatusInfo)
		}
		out, _ := exec.Command("podman", "ps", "-a", "-q", "--filter", "name=berth-"+m.ID).Output()
		if strings.TrimSpace(string(out)) != "" {
			return fmt.Errorf("container still listed by podman ps -a")
		}
		return nil
	})

	// 6. SIGTERM stops everything; a restart finds the same users and sessions
	s.stop()
	for _, n := range []string{"manager", "agent", "edge"} {
		if _, err := os.Stat(filepath.Join(s.varDir, "run", n+".pid")); err == nil {
			t.Errorf("%s still has a pid file after stop", n)
		}
	}
	if resp, err := http.Get(s.url("/healthz")); err == nil {
		resp.Body.Close()
		t.Errorf("edge still answers after stop")
	}
	s.start()
	s.mustJSON(&info, "session", "info", sess.ID)
	if info.Status != api.StatusRunning {
		t.Errorf("after restart demo is %s (%s), want RUNNING", info.Status, info.StatusInfo)
	}
	s.mustJSON(&rm, "session", "info", m.ID)
	if rm.Status != api.StatusTerminated {
		t.Errorf("after restart mine is %s, want TERMINATED", rm.Status)
	}
	eventually(t, 30*time.Second, "app answers after restart", func() error {
		s.mustJSON(&apps, "session", "apps", "demo") // a fresh one-time token each try
		resp, err := browser().Get(apps[0].OpenURL)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	s.berth("session", "rm", "demo")
}

// openApp opens the first app of session through a fresh open_url,
// retrying (with a new one-time token each time) while the app is still
// starting. It returns the browser holding the app cookie, the app with the
// open_url that was used, and the page.
func openApp(t *testing.T, s *stack, session string) (*http.Client, api.App, string) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		var apps []api.App
		s.mustJSON(&apps, "session", "apps", session)
		if len(apps) == 0 {
			t.Fatalf("session %s has no apps", session)
		}
		b := browser()
		resp, err := b.Get(apps[0].OpenURL)
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			return b, apps[0], string(body)
		}
		last = fmt.Sprintf("%d %.200s", resp.StatusCode, body)
	}
	t.Fatalf("app of %s never answered through its open_url: %s", session, last)
	return nil, api.App{}, ""
}

func checkNoAccess(t *testing.T, url string) {
	t.Helper()
	c := browser()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case 401, 403:
	case 302, 303, 307:
		if !strings.Contains(resp.Header.Get("Location"), "login") && !strings.Contains(resp.Header.Get("Location"), "launch") {
			t.Errorf("no-cookie redirect goes to %q, not to login", resp.Header.Get("Location"))
		}
	default:
		t.Errorf("GET %s without a cookie: %d %q, want 401/403 or a redirect to login", url, resp.StatusCode, b)
	}
	if strings.Contains(string(b), "Hello from Berth") {
		t.Errorf("the app answered without a cookie")
	}
}

func fetch(t *testing.T, c *http.Client, url string, want int) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d %q, want %d", url, resp.StatusCode, b, want)
	}
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decoding %s: %v", url, err)
	}
}

func checkProblem(t *testing.T, resp *http.Response, status int) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Errorf("%s %s: %d %s, want %d", resp.Request.Method, resp.Request.URL, resp.StatusCode, b, status)
		return
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("%s: content type %q, want problem+json", resp.Request.URL, resp.Header.Get("Content-Type"))
	}
	var p api.Problem
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&p); err != nil || p.Detail == "" {
		t.Errorf("%s: problem without detail: %s", resp.Request.URL, b)
	}
}

func readPid(t *testing.T, f string) int {
	t.Helper()
	p := readPidSoft(f)
	if p == 0 {
		t.Fatalf("no pid in %s", f)
	}
	return p
}

func readPidSoft(f string) int {
	b, err := os.ReadFile(f)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return p
}
