// Package appproxy is the edge's app proxy: the handler
// http.handlers.berth_app_proxy, which finds the session app a request is
// for and checks access, and the dynamic upstream source
// http.reverse_proxy.upstreams.berth, through which Caddy's own
// reverse_proxy then forwards the request (streaming and WebSockets
// included).
package appproxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/apptoken"
	"github.com/berth-dev/berth/caddymodules/edge"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Request variables the handler sets for the upstream source and for logs.
const (
	// UpstreamVar holds the resolved app's upstream, host:port.
	UpstreamVar = "berth.upstream"
	// SessionVar holds the resolved app's session ID.
	SessionVar = "berth.session_id"
	// AppVar holds the resolved app's host label.
	AppVar = "berth.app"
)

// Handler finds the session app a request is for and decides whether the
// client may reach it, then passes the request on (to a reverse_proxy with
// the "berth" dynamic upstream source).
//
// The app is found by the Host header in wildcard-subdomain mode
// (<host label>.<apps_domain>) or, in port-mapping mode, by the local port
// the connection arrived on (one of the berth app's app_ports). A request
// for no known app gets 404.
//
// Access: a GET of /_berth/auth?berth_token=T (an app's open_url) checks the
// one-time token, burns its nonce, sets a host-only app cookie and
// redirects to the app. Other requests need a public app or a valid app
// cookie of the owner or an admin; browsers without one are redirected to
// the manager's /api/v1/apps/launch, other clients get 401. The edge's
// cookies (berth_*) are removed before the request goes on.
//
// It sets the request variables berth.upstream, berth.session_id and
// berth.app.
type Handler struct {
	app *edge.App
	rv  resolver
	log *slog.Logger
	now func() time.Time
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.berth_app_proxy",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision connects the handler to the berth app.
func (h *Handler) Provision(ctx caddy.Context) error {
	a, err := edge.FromContext(ctx)
	if err != nil {
		return err
	}
	h.app = a
	h.rv = resolver{domain: h.app.AppsDomain, ports: h.app.Ports(), table: h.app.Table()}
	h.log = ctx.Slogger()
	h.now = time.Now
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	t, name, ok := h.rv.resolve(r.Host, localPort(r))
	if !ok {
		fail(w, r, http.StatusNotFound, "no app "+name)
		return nil
	}
	if r.URL.Path == apptoken.AuthPath {
		h.open(w, r, t)
		return nil
	}
	var cookie string
	if c, err := r.Cookie(apptoken.CookieName(t.hostKey)); err == nil {
		cookie = c.Value
	}
	switch err := checkAccess(h.app.SecretKey(), t.route, t.hostKey, cookie, h.now()); {
	case errors.Is(err, errLoginRequired):
		if isBrowser(r) {
			http.Redirect(w, r, h.launchURL(r, t), http.StatusFound)
			return nil
		}
		fail(w, r, http.StatusUnauthorized, err.Error())
		return nil
	case err != nil:
		fail(w, r, http.StatusForbidden, err.Error())
		return nil
	}
	if v := r.Header.Get("Cookie"); v != "" {
		if s := stripEdgeCookies(v); s != "" {
			r.Header.Set("Cookie", s)
		} else {
			r.Header.Del("Cookie")
		}
	}
	caddyhttp.SetVar(r.Context(), UpstreamVar, t.route.Upstream)
	caddyhttp.SetVar(r.Context(), SessionVar, t.route.SessionID)
	caddyhttp.SetVar(r.Context(), AppVar, t.label)
	return next.ServeHTTP(w, r)
}

// open handles an open_url: it checks the one-time token, burns its nonce,
// sets the app cookie for this host only and redirects into the app.
func (h *Handler) open(w http.ResponseWriter, r *http.Request, t target) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(w, r, http.StatusMethodNotAllowed, "use GET to open an app")
		return
	}
	tok := r.URL.Query().Get(apptoken.QueryParam)
	if tok == "" {
		fail(w, r, http.StatusBadRequest, "missing "+apptoken.QueryParam)
		return
	}
	now := h.now()
	c, err := apptoken.Verify(h.app.SecretKey(), tok, now)
	switch {
	case errors.Is(err, apptoken.ErrExpired):
		fail(w, r, http.StatusForbidden, "token expired: get a fresh open_url")
		return
	case err != nil:
		fail(w, r, http.StatusForbidden, "invalid token: "+err.Error())
		return
	case c.Kind != apptoken.KindOpen || c.Nonce == "":
		fail(w, r, http.StatusForbidden, "invalid token: not an open_url token")
		return
	case c.Host != t.hostKey:
		fail(w, r, http.StatusForbidden, "invalid token: it is for another app")
		return
	case !mayOpen(t.route, c):
		fail(w, r, http.StatusForbidden, errForbidden.Error())
		return
	}
	switch err := h.app.BurnNonce(r.Context(), c.Nonce); {
	case errors.Is(err, edge.ErrNonceUsed):
		fail(w, r, http.StatusForbidden, "token already used")
		return
	case err != nil:
		h.log.Error("opening app", "app", t.label, "err", err)
		fail(w, r, http.StatusServiceUnavailable, "cannot check the token now: "+err.Error())
		return
	}
	appTok, err := apptoken.Sign(h.app.SecretKey(), apptoken.New(apptoken.KindApp, c.UserID, c.Admin, t.hostKey, apptoken.AppTTL, now))
	if err != nil {
		fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	// Host-only (no Domain attribute): never sent to another app's host.
	http.SetCookie(w, &http.Cookie{
		Name:     apptoken.CookieName(t.hostKey),
		Value:    appTok,
		Path:     "/",
		MaxAge:   int(apptoken.AppTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusFound)
}

// launchURL is where a browser without app access goes: the manager's
// launch endpoint, which mints a fresh open_url for a logged-in user, or
// sends them to the login page first.
func (h *Handler) launchURL(r *http.Request, t target) string {
	q := url.Values{"host": {t.label}}
	if t.port > 0 {
		q.Set("port", strconv.Itoa(t.port))
	}
	if next := r.URL.RequestURI(); next != "/" && next != "" {
		q.Set("next", next)
	}
	return h.app.PublicURL + "/api/v1/apps/launch?" + q.Encode()
}

// safeNext returns next when it is a path on this host, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, apptoken.AuthPath) {
		return "/"
	}
	return next
}

func localPort(r *http.Request) int {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return 0
	}
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.Port
	}
	_, p, err := net.SplitHostPort(addr.String())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func isBrowser(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// fail answers with a problem+json body, or a small HTML page for browsers.
func fail(w http.ResponseWriter, r *http.Request, status int, detail string) {
	w.Header().Set("Cache-Control", "no-store")
	if isBrowser(r) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>%d %s</title>"+
			"<body style=\"font-family:system-ui,sans-serif;margin:3em\"><h1>%d %s</h1><p>%s</p>",
			status, http.StatusText(status), status, http.StatusText(status), html.EscapeString(detail))
		return
	}
	writeProblem(w, status, detail)
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Problem{Title: http.StatusText(status), Status: status, Detail: detail})
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
