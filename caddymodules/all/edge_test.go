package all_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/apptoken"
	"github.com/berth-dev/berth/bus"
	"github.com/berth-dev/berth/bus/bustest"
	_ "github.com/berth-dev/berth/caddymodules/all"
	"github.com/berth-dev/berth/internal/testnet"
)

const secretHex = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"

// upstream is the session app: it records what it was sent.
type upstream struct {
	mu      sync.Mutex
	cookies []string
	auth    []string
	release chan struct{} // closed by the test to let /stream finish
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.cookies = append(u.cookies, r.Header.Get("Cookie"))
	u.auth = append(u.auth, r.Header.Get("Authorization"))
	u.mu.Unlock()
	switch r.URL.Path {
	case "/ws":
		// A minimal protocol switch: answer 101 and echo lines.
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	case "/stream":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "first\n")
		http.NewResponseController(w).Flush()
		select {
		case <-u.release:
		case <-time.After(20 * time.Second):
		}
		fmt.Fprint(w, "second\n")
	default:
		fmt.Fprintf(w, "hello from the app at %s", r.URL.Path)
	}
}

func (u *upstream) lastCookie() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.cookies) == 0 {
		return ""
	}
	return u.cookies[len(u.cookies)-1]
}

func (u *upstream) allCookies() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.cookies...)
}

// manager stands in for the manager: /api/v1/health and an echo of the
// Host header for the /api/* proxy.
type manager struct {
	mu     sync.Mutex
	status int
}

func (m *manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/health" {
		m.mu.Lock()
		st := m.status
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		json.NewEncoder(w).Encode(api.Health{Status: "ok", Components: map[string]string{"database": "ok", "agents": "1 alive", "valkey": "ok"}})
		return
	}
	fmt.Fprintf(w, "manager saw %s %s host=%s", r.Method, r.URL.Path, r.Host)
}

func (m *manager) set(status int) { m.mu.Lock(); m.status = status; m.mu.Unlock() }

type env struct {
	edgePort  int
	portFirst int
	valkey    *bus.Bus
	app       *upstream
	mgr       *manager
	secret    []byte
	appURL    string
}

// startEdge runs the top-level Caddyfile in-process against a fresh
// redis-server, a stand-in manager and a test app.
func startEdge(t *testing.T) *env {
	t.Helper()
	vaddr := bustest.StartRedis(t)
	e := &env{app: &upstream{release: make(chan struct{})}, mgr: &manager{status: http.StatusOK}}
	appSrv := httptest.NewServer(e.app)
	t.Cleanup(appSrv.Close)
	e.appURL = appSrv.URL
	mgrSrv := httptest.NewServer(e.mgr)
	t.Cleanup(mgrSrv.Close)

	e.edgePort = testnet.FreePort(t)
	e.portFirst = testnet.FreePortRange(t, 3)
	var sites []string
	for p := e.portFirst; p < e.portFirst+3; p++ {
		sites = append(sites, "http://:"+strconv.Itoa(p))
	}
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home,
		"BERTH_EDGE_PORT":   strconv.Itoa(e.edgePort),
		"BERTH_BIND":        "127.0.0.1",
		"BERTH_VALKEY":      vaddr,
		"BERTH_SECRET":      secretHex,
		"BERTH_MANAGER_URL": mgrSrv.URL,
		"BERTH_PUBLIC_URL":  "http://localhost:" + strconv.Itoa(e.edgePort),
		"BERTH_APPS_DOMAIN": "apps.localhost",
		"BERTH_APP_PORTS":   fmt.Sprintf("%d-%d", e.portFirst, e.portFirst+2),
		"BERTH_APP_SITES":   strings.Join(sites, " "),
	} {
		t.Setenv(k, v)
	}
	body, err := os.ReadFile("../../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(body, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v", err)
	}
	for _, w := range warnings {
		t.Logf("adapter warning: %s", w)
	}
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("loading config: %v", err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })

	ctx := context.Background()
	e.valkey, err = bus.Dial(ctx, vaddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.valkey.Close)
	e.secret, _ = hex.DecodeString(secretHex)
	return e
}

func (e *env) putRoute(t *testing.T, r api.Route) {
	t.Helper()
	c := e.valkey.Client()
	data, _ := json.Marshal(r)
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Hset().Key(api.RoutesHash).FieldValue().FieldValue(r.HostLabel, string(data)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Publish().Channel(api.RoutesChannel).Message(r.HostLabel).Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) removeRoute(t *testing.T, label string) {
	t.Helper()
	c := e.valkey.Client()
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Hdel().Key(api.RoutesHash).Field(label).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Publish().Channel(api.RoutesChannel).Message(label).Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) token(t *testing.T, kind, user string, admin bool, host string) string {
	t.Helper()
	ttl := apptoken.OpenTTL
	if kind == apptoken.KindApp {
		ttl = apptoken.AppTTL
	}
	s, err := apptoken.Sign(e.secret, apptoken.New(kind, user, admin, host, ttl, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client returns an HTTP client that sends every host name to 127.0.0.1
// (so *.apps.localhost works without DNS), with a cookie jar; follow
// decides whether it follows redirects.
func client(t *testing.T, follow bool) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

func get(t *testing.T, c *http.Client, u string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEdge(t *testing.T) {
	e := startEdge(t)
	appURL, _ := url.Parse(e.appURL)
	const label = "demo-1a2b3c4d-web"
	appPort := e.portFirst + 1
	route := api.Route{
		HostLabel: label, SessionID: "1a2b3c4d-0000-0000-0000-000000000000", SessionName: "demo",
		SessionType: api.TypeInteractive, OwnerID: "alice", App: "web", Protocol: "http",
		Upstream: appURL.Host, EdgePort: appPort,
	}
	base := fmt.Sprintf("http://%s.apps.localhost:%d", label, e.edgePort)
	edgeURL := fmt.Sprintf("http://localhost:%d", e.edgePort)

	// Before the route exists: 404, and once it is published it answers.
	plain := client(t, false)
	if resp, body := get(t, plain, base+"/", nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no app "+label) {
		t.Fatalf("unknown app: %d %s", resp.StatusCode, body)
	}
	e.putRoute(t, route)
	eventually(t, "route to appear", func() bool {
		resp, _ := get(t, plain, base+"/", nil)
		return resp.StatusCode != http.StatusNotFound
	})

	t.Run("no cookie, curl-like", func(t *testing.T) {
		resp, body := get(t, plain, base+"/", nil)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(body, "open the app through its open_url") {
			t.Errorf("got %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("no cookie, browser", func(t *testing.T) {
		resp, _ := get(t, plain, base+"/tree?x=1", map[string]string{"Accept": "text/html,application/xhtml+xml"})
		want := edgeURL + "/api/v1/apps/launch?host=" + label + "&next=%2Ftree%3Fx%3D1"
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("got %d Location %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
	})

	openTok := e.token(t, apptoken.KindOpen, "alice", false, label)
	jar := client(t, true)
	t.Run("open_url", func(t *testing.T) {
		u := base + apptoken.AuthPath + "?" + apptoken.QueryParam + "=" + url.QueryEscape(openTok)
		// A cookie of the app's own must pass through; the edge's must not.
		host, _ := url.Parse(base)
		jar.Jar.SetCookies(host, []*http.Cookie{{Name: "appcookie", Value: "1"}, {Name: "berth_login", Value: "secret-login"}})
		resp, body := get(t, jar, u, map[string]string{"Authorization": "Bearer app-token"})
		if resp.StatusCode != http.StatusOK || body != "hello from the app at /" {
			t.Fatalf("open_url: %d %s", resp.StatusCode, body)
		}
		if c := e.app.lastCookie(); c != "appcookie=1" {
			t.Errorf("app saw Cookie %q, want only appcookie=1", c)
		}
		e.app.mu.Lock()
		auth := e.app.auth[len(e.app.auth)-1]
		e.app.mu.Unlock()
		if auth != "Bearer app-token" {
			t.Errorf("app saw Authorization %q", auth)
		}
		var appCookie *http.Cookie
		for _, c := range jar.Jar.Cookies(host) {
			if c.Name == apptoken.CookieName(label) {
				appCookie = c
			}
		}
		if appCookie == nil {
			t.Fatal("no app cookie in the jar")
		}
		// Host-only: the cookie must not reach a sibling app host.
		sibling, _ := url.Parse(fmt.Sprintf("http://other-1a2b3c4d-web.apps.localhost:%d/", e.edgePort))
		if cs := jar.Jar.Cookies(sibling); len(cs) != 0 {
			t.Errorf("sibling host gets cookies %v", cs)
		}
		// The next request rides on the cookie.
		resp, body = get(t, jar, base+"/lab", nil)
		if resp.StatusCode != http.StatusOK || body != "hello from the app at /lab" {
			t.Errorf("with cookie: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("token reuse", func(t *testing.T) {
		u := base + apptoken.AuthPath + "?" + apptoken.QueryParam + "=" + url.QueryEscape(openTok)
		resp, body := get(t, client(t, false), u, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "token already used") {
			t.Errorf("second use: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("token for another app", func(t *testing.T) {
		tok := e.token(t, apptoken.KindOpen, "alice", false, "demo-1a2b3c4d-api")
		resp, body := get(t, client(t, false), base+apptoken.AuthPath+"?"+apptoken.QueryParam+"="+url.QueryEscape(tok), nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
	})

	t.Run("other user's cookie", func(t *testing.T) {
		hdr := map[string]string{"Cookie": apptoken.CookieName(label) + "=" + e.token(t, apptoken.KindApp, "bob", false, label)}
		resp, body := get(t, client(t, false), base+"/", hdr)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "hello") {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
	})

	t.Run("admin cookie", func(t *testing.T) {
		hdr := map[string]string{"Cookie": apptoken.CookieName(label) + "=" + e.token(t, apptoken.KindApp, "root", true, label)}
		if resp, body := get(t, client(t, false), base+"/", hdr); resp.StatusCode != http.StatusOK {
			t.Errorf("got %d %s", resp.StatusCode, body)
		}
	})

	appCookie := apptoken.CookieName(label) + "=" + e.token(t, apptoken.KindApp, "alice", false, label)

	t.Run("streaming", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, base+"/stream", nil)
		req.Header.Set("Cookie", appCookie)
		resp, err := client(t, false).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		// The first line must arrive while the app still holds the response.
		first, err := r.ReadString('\n')
		if err != nil || first != "first\n" {
			t.Fatalf("first chunk: %q %v", first, err)
		}
		close(e.app.release)
		second, _ := r.ReadString('\n')
		if second != "second\n" {
			t.Errorf("second chunk: %q", second)
		}
	})

	t.Run("websocket upgrade", func(t *testing.T) {
		conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(e.edgePort)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s.apps.localhost:%d\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: %s\r\n\r\n", label, e.edgePort, appCookie)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %d", resp.StatusCode)
		}
		fmt.Fprint(conn, "ping\n")
		line, err := br.ReadString('\n')
		if err != nil || line != "echo: ping\n" {
			t.Errorf("echo: %q %v", line, err)
		}
	})

	t.Run("port mapping", func(t *testing.T) {
		pbase := fmt.Sprintf("http://127.0.0.1:%d", appPort)
		if resp, body := get(t, client(t, false), pbase+"/", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no cookie: %d %s", resp.StatusCode, body)
		}
		resp, _ := get(t, client(t, false), pbase+"/", map[string]string{"Accept": "text/html"})
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.Contains(loc, "host="+label) || !strings.Contains(loc, "port="+strconv.Itoa(appPort)) {
			t.Errorf("browser: %d %q", resp.StatusCode, loc)
		}
		// The subdomain cookie is no good on the port.
		tok := e.token(t, apptoken.KindOpen, "alice", false, label)
		if resp, _ := get(t, client(t, false), pbase+apptoken.AuthPath+"?"+apptoken.QueryParam+"="+url.QueryEscape(tok), nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("subdomain token on port: %d", resp.StatusCode)
		}
		tok = e.token(t, apptoken.KindOpen, "alice", false, "port:"+strconv.Itoa(appPort))
		c := client(t, true)
		resp, body := get(t, c, pbase+apptoken.AuthPath+"?"+apptoken.QueryParam+"="+url.QueryEscape(tok)+"&next=/x", nil)
		if resp.StatusCode != http.StatusOK || body != "hello from the app at /x" {
			t.Errorf("open on port: %d %s", resp.StatusCode, body)
		}
		// Another port in the range with no app.
		if resp, body := get(t, client(t, false), fmt.Sprintf("http://127.0.0.1:%d/", e.portFirst+2), nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("empty app port: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("public app", func(t *testing.T) {
		pub := route
		pub.HostLabel, pub.Public, pub.EdgePort = "infer-5e6f7a8b-api", true, 0
		e.putRoute(t, pub)
		u := fmt.Sprintf("http://%s.apps.localhost:%d/v1", pub.HostLabel, e.edgePort)
		eventually(t, "public route", func() bool { resp, _ := get(t, client(t, false), u, nil); return resp.StatusCode == http.StatusOK })
	})

	t.Run("no edge cookie ever reached the app", func(t *testing.T) {
		for _, c := range e.app.allCookies() {
			if strings.Contains(c, "berth_") {
				t.Errorf("app saw %q", c)
			}
		}
	})

	t.Run("route removal", func(t *testing.T) {
		e.removeRoute(t, label)
		eventually(t, "route removal", func() bool {
			resp, _ := get(t, client(t, false), base+"/", map[string]string{"Cookie": appCookie})
			return resp.StatusCode == http.StatusNotFound
		})
		resp, body := get(t, client(t, false), base+"/", map[string]string{"Accept": "text/html"})
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "<html") && !strings.Contains(body, "<title>") {
			t.Errorf("browser 404: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("web UI and API", func(t *testing.T) {
		c := client(t, false)
		for _, p := range []string{"/", "/login"} {
			resp, body := get(t, c, edgeURL+p, nil)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<title>Berth</title>") {
				t.Errorf("GET %s: %d", p, resp.StatusCode)
			}
		}
		if resp, _ := get(t, c, edgeURL+"/app.js", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("app.js: %d", resp.StatusCode)
		}
		if resp, _ := get(t, c, edgeURL+"/nope", nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("/nope: %d", resp.StatusCode)
		}
		resp, body := get(t, c, edgeURL+"/api/v1/sessions", nil)
		want := fmt.Sprintf("manager saw GET /api/v1/sessions host=localhost:%d", e.edgePort)
		if resp.StatusCode != http.StatusOK || body != want {
			t.Errorf("API proxy: %d %q, want %q", resp.StatusCode, body, want)
		}
	})

	t.Run("healthz", func(t *testing.T) {
		c := client(t, false)
		var h api.Health
		eventually(t, "healthy", func() bool {
			resp, body := get(t, c, edgeURL+"/healthz", nil)
			h = api.Health{}
			_ = json.Unmarshal([]byte(body), &h)
			return resp.StatusCode == http.StatusOK
		})
		for _, k := range []string{"edge", "valkey", "manager", "database", "agents"} {
			if h.Components[k] == "" {
				t.Errorf("healthz lacks %q: %+v", k, h)
			}
		}
		if h.Status != "ok" || h.Components["database"] != "ok" || h.Components["agents"] != "1 alive" {
			t.Errorf("healthz: %+v", h)
		}
		e.mgr.set(http.StatusServiceUnavailable)
		resp, body := get(t, c, edgeURL+"/healthz", nil)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"degraded"`) {
			t.Errorf("manager down: %d %s", resp.StatusCode, body)
		}
		e.mgr.set(http.StatusOK)
	})
}
