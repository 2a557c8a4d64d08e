// Package webserver is the edge's own web server, the handler
// http.handlers.berth_webserver: GET /healthz for the whole platform and the
// embedded web UI (package webui).
package webserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/caddymodules/edge"
	"github.com/berth-dev/berth/webui"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler serves GET /healthz and the web UI. /healthz answers 200 with an
// api.Health naming the components edge, valkey, manager, database and
// agents once Valkey answers a ping and the manager's GET /api/v1/health
// answers 200; 503 with the same shape before that. The web UI answers
// "/" and "/login" with its index page and its other files by name; any
// other path is 404.
type Handler struct {
	// HealthTimeout bounds the manager health request. Default: 2s.
	HealthTimeout caddy.Duration `json:"health_timeout,omitempty"`

	app    *edge.App
	files  fs.FS
	client *http.Client
	log    *slog.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.berth_webserver",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision connects the handler to the berth app and the UI files.
func (h *Handler) Provision(ctx caddy.Context) error {
	a, err := edge.FromContext(ctx)
	if err != nil {
		return err
	}
	h.app = a
	if h.HealthTimeout <= 0 {
		h.HealthTimeout = caddy.Duration(2 * time.Second)
	}
	h.files = webui.FS()
	h.client = &http.Client{Timeout: time.Duration(h.HealthTimeout)}
	h.log = ctx.Slogger()
	return nil
}

// Cleanup closes idle manager connections.
func (h *Handler) Cleanup() error {
	if h.client != nil {
		h.client.CloseIdleConnections()
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeJSON(w, http.StatusMethodNotAllowed, "application/problem+json",
			api.Problem{Title: "Method Not Allowed", Status: http.StatusMethodNotAllowed, Detail: "only GET and HEAD are served here"})
		return nil
	}
	if r.URL.Path == "/healthz" {
		status, body := h.health(r.Context())
		writeJSON(w, status, "application/json", body)
		return nil
	}
	h.serveUI(w, r)
	return nil
}

// health builds the platform's health from Valkey's and the manager's.
func (h *Handler) health(ctx context.Context) (int, api.Health) {
	hl := api.Health{Status: "ok", Components: map[string]string{
		"edge": "ok", "valkey": "ok", "manager": "ok", "database": "unknown", "agents": "unknown",
	}}
	ok := true
	vctx, cancel := context.WithTimeout(ctx, time.Duration(h.HealthTimeout))
	defer cancel()
	if err := h.app.ValkeyHealth(vctx); err != nil {
		hl.Components["valkey"] = "error: " + err.Error()
		ok = false
	}
	mh, code, err := h.managerHealth(ctx)
	switch {
	case err != nil:
		hl.Components["manager"] = "unreachable: " + err.Error()
		ok = false
	case code != http.StatusOK:
		hl.Components["manager"] = fmt.Sprintf("degraded (HTTP %d)", code)
		ok = false
	}
	for k, v := range mh.Components {
		if k == "valkey" || k == "edge" || k == "manager" {
			continue // the edge's own view of these
		}
		hl.Components[k] = v
	}
	if !ok {
		hl.Status = "degraded"
		return http.StatusServiceUnavailable, hl
	}
	return http.StatusOK, hl
}

// managerHealth fetches GET <manager>/api/v1/health; a 503 with a Health
// body is an answer, not an error.
func (h *Handler) managerHealth(ctx context.Context) (api.Health, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.app.ManagerURL+"/api/v1/health", nil)
	if err != nil {
		return api.Health{}, 0, fmt.Errorf("building manager health request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return api.Health{}, 0, fmt.Errorf("asking manager: %w", err)
	}
	defer resp.Body.Close()
	var mh api.Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&mh); err != nil {
		mh = api.Health{}
	}
	return mh, resp.StatusCode, nil
}

// serveUI serves the web UI: "/" and "/login" get index.html (the page
// picks its view from the path), other paths their file.
func (h *Handler) serveUI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	switch name {
	case "", "login", "index.html":
		name = "index.html"
	}
	f, err := h.files.Open(name)
	if err != nil {
		writeJSON(w, http.StatusNotFound, "application/problem+json",
			api.Problem{Title: "Not Found", Status: http.StatusNotFound, Detail: "no page " + r.URL.Path})
		return
	}
	defer f.Close()
	st, err := f.Stat()
	rs, seekable := f.(io.ReadSeeker)
	if err != nil || st.IsDir() || !seekable {
		writeJSON(w, http.StatusNotFound, "application/problem+json",
			api.Problem{Title: "Not Found", Status: http.StatusNotFound, Detail: "no page " + r.URL.Path})
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, st.ModTime(), rs)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
