package appproxy

import (
	"errors"
	"testing"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/apptoken"
	"github.com/berth-dev/berth/caddymodules/edge"
)

type fakeRoutes map[string]api.Route

func (f fakeRoutes) ByLabel(l string) (api.Route, bool) { r, ok := f[l]; return r, ok }
func (f fakeRoutes) ByPort(p int) (api.Route, bool) {
	for _, r := range f {
		if r.EdgePort == p {
			return r, true
		}
	}
	return api.Route{}, false
}

func TestResolve(t *testing.T) {
	rv := resolver{
		domain: "apps.localhost",
		ports:  edge.PortRange{First: 10200, Last: 10299},
		table: fakeRoutes{
			"demo-1a2b3c4d-web": {HostLabel: "demo-1a2b3c4d-web", Upstream: "127.0.0.1:5000", EdgePort: 10200},
		},
	}
	tests := []struct {
		host      string
		port      int
		wantOK    bool
		wantKey   string
		wantLabel string
		wantName  string
	}{
		{"demo-1a2b3c4d-web.apps.localhost:8080", 8080, true, "demo-1a2b3c4d-web", "demo-1a2b3c4d-web", "demo-1a2b3c4d-web"},
		{"DEMO-1a2b3c4d-web.Apps.Localhost.", 8080, true, "demo-1a2b3c4d-web", "demo-1a2b3c4d-web", "demo-1a2b3c4d-web"},
		{"demo-1a2b3c4d-web.apps.localhost", 80, true, "demo-1a2b3c4d-web", "demo-1a2b3c4d-web", "demo-1a2b3c4d-web"},
		{"other-1a2b3c4d-web.apps.localhost:8080", 8080, false, "", "", "other-1a2b3c4d-web"},
		{"notalabel.apps.localhost:8080", 8080, false, "", "", "notalabel"},
		{"x.demo-1a2b3c4d-web.apps.localhost", 8080, false, "", "", "at x.demo-1a2b3c4d-web.apps.localhost"},
		{"127.0.0.1:10200", 10200, true, "port:10200", "demo-1a2b3c4d-web", "demo-1a2b3c4d-web"},
		{"localhost:10201", 10201, false, "", "", "on port 10201"},
		{"localhost:8080", 8080, false, "", "", "at localhost:8080"},
		// The host wins over the port: a wildcard host on an app port.
		{"demo-1a2b3c4d-web.apps.localhost:10201", 10201, true, "demo-1a2b3c4d-web", "demo-1a2b3c4d-web", "demo-1a2b3c4d-web"},
	}
	for _, tc := range tests {
		got, name, ok := rv.resolve(tc.host, tc.port)
		if ok != tc.wantOK || got.hostKey != tc.wantKey || got.label != tc.wantLabel || name != tc.wantName {
			t.Errorf("resolve(%q, %d) = %+v, %q, %v; want key %q label %q name %q ok %v",
				tc.host, tc.port, got, name, ok, tc.wantKey, tc.wantLabel, tc.wantName, tc.wantOK)
		}
	}
}

func TestCheckAccess(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	const host = "demo-1a2b3c4d-web"
	private := api.Route{HostLabel: host, OwnerID: "alice"}
	public := api.Route{HostLabel: host, OwnerID: "alice", Public: true}
	tok := func(kind, user string, admin bool, host string, ttl time.Duration) string {
		s, err := apptoken.Sign(secret, apptoken.New(kind, user, admin, host, ttl, now))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherSecret, _ := apptoken.Sign([]byte("another secret, 32 bytes long..."), apptoken.New(apptoken.KindApp, "alice", false, host, time.Hour, now))
	tests := []struct {
		name   string
		route  api.Route
		cookie string
		want   error
	}{
		{"public route without cookie", public, "", nil},
		{"public route with another user's cookie", public, tok(apptoken.KindApp, "bob", false, host, time.Hour), nil},
		{"no cookie", private, "", errLoginRequired},
		{"owner cookie", private, tok(apptoken.KindApp, "alice", false, host, time.Hour), nil},
		{"other user's cookie", private, tok(apptoken.KindApp, "bob", false, host, time.Hour), errForbidden},
		{"admin cookie", private, tok(apptoken.KindApp, "root", true, host, time.Hour), nil},
		{"expired cookie", private, tok(apptoken.KindApp, "alice", false, host, -time.Minute), errLoginRequired},
		{"wrong host's cookie", private, tok(apptoken.KindApp, "alice", false, "demo-1a2b3c4d-api", time.Hour), errLoginRequired},
		{"port-mode cookie on subdomain host", private, tok(apptoken.KindApp, "alice", false, "port:10200", time.Hour), errLoginRequired},
		{"open token used as cookie", private, tok(apptoken.KindOpen, "alice", false, host, time.Hour), errLoginRequired},
		{"bad signature", private, otherSecret, errLoginRequired},
		{"garbage", private, "not-a-token", errLoginRequired},
		{"empty owner never matches empty user", api.Route{HostLabel: host}, tok(apptoken.KindApp, "", false, host, time.Hour), errForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkAccess(secret, tc.route, host, tc.cookie, now)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("checkAccess = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStripEdgeCookies(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a=1", "a=1"},
		{"berth_login=xyz", ""},
		{"a=1; berth_app_0123456789ab=tok; b=2", "a=1; b=2"},
		{"berth_login=1;berth_app_x=2;_xsrf=2|abc", "_xsrf=2|abc"},
		{" berth_x=1 ; jupyter-session=\"q=1\" ", "jupyter-session=\"q=1\""},
		{"berthx=1; Berth_login=2", "berthx=1; Berth_login=2"}, // only the exact berth_ prefix
	}
	for _, tc := range tests {
		if got := stripEdgeCookies(tc.in); got != tc.want {
			t.Errorf("stripEdgeCookies(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"":                           "/",
		"/":                          "/",
		"/tree?x=1":                  "/tree?x=1",
		"//evil.example/":            "/",
		"/\\evil.example":            "/",
		"https://evil.example":       "/",
		"/_berth/auth?berth_token=x": "/",
	}
	for in, want := range tests {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
