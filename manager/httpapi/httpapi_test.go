package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-dev/berth/api"
)

func TestAppURL(t *testing.T) {
	tests := []struct {
		public string
		port   int
		want   string
	}{
		{"http://localhost:8080", 8080, "http://demo-1a2b3c4d-web.apps.localhost:8080/"},
		{"http://localhost", 80, "http://demo-1a2b3c4d-web.apps.localhost/"},
		{"https://berth.example.com", 443, "https://demo-1a2b3c4d-web.apps.localhost/"},
		{"https://berth.example.com", 8443, "https://demo-1a2b3c4d-web.apps.localhost:8443/"},
	}
	for _, tt := range tests {
		s := &Server{cfg: Config{PublicURL: tt.public, AppsDomain: "apps.localhost", EdgePort: tt.port}}
		if got := s.appURL("demo-1a2b3c4d-web"); got != tt.want {
			t.Errorf("appURL(%s, %d) = %s, want %s", tt.public, tt.port, got, tt.want)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		body   string
		status int
		detail string
	}{
		{`{"image":"x"}`, 0, ""},
		{`{"image":"x"}` + "\n", 0, ""},
		{``, 400, "request body is empty"},
		{`{"image":`, 400, "malformed JSON"},
		{`{"image":"x",}`, 400, "malformed JSON at offset 14"},
		{`{"image":"x","nope":1}`, 400, `unknown field "nope"`},
		{`{"image":"x","resources":{"cpu":"two"}}`, 400, "field resources.cpu"},
		{`{"image":"x"} {"image":"y"}`, 400, "unexpected data"},
		{`{"image":"` + strings.Repeat("x", maxJSONBody) + `"}`, 413, "larger than"},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		var v api.CreateSessionRequest
		ok := decode(w, r, &v)
		if ok != (tt.status == 0) {
			t.Errorf("decode(%.40q) ok = %v", tt.body, ok)
			continue
		}
		if ok {
			continue
		}
		var p api.Problem
		_ = json.Unmarshal(w.Body.Bytes(), &p)
		if w.Code != tt.status || !strings.Contains(p.Detail, tt.detail) || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("decode(%.40q) = %d %q, want %d %q", tt.body, w.Code, p.Detail, tt.status, tt.detail)
		}
	}
}

func TestNewSessionDefaults(t *testing.T) {
	ns, err := newSession(api.CreateSessionRequest{Image: "img", Resources: &api.Resources{CPU: 2}}, "u")
	if err != nil {
		t.Fatal(err)
	}
	if ns.Type != api.TypeInteractive || ns.Group != "default" || ns.Resources.CPU != 2 || ns.Resources.Mem != api.DefaultResources.Mem ||
		!strings.HasPrefix(ns.Name, "s-") {
		t.Errorf("defaults = %+v", ns)
	}
	for _, req := range []api.CreateSessionRequest{
		{},
		{Image: "img", Name: "-bad"},
		{Image: "img", Type: "x"},
		{Image: "img", Resources: &api.Resources{CPU: -1}},
		{Image: "img", Priority: 101},
		{Image: "img", Mounts: []string{"data"}},
	} {
		_, err := newSession(req, "u")
		if se, ok := err.(*StatusError); !ok || se.Status != http.StatusUnprocessableEntity {
			t.Errorf("newSession(%+v) = %v, want a 422", req, err)
		}
	}
}
