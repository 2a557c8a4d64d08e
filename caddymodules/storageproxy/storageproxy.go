// Package storageproxy is the edge's storage proxy, the handler
// http.handlers.berth_storage_proxy. It is a placeholder that answers 501
// until storage folders exist.
package storageproxy

import (
	"encoding/json"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/berth-dev/berth/api"
)

func init() {
	caddy.RegisterModule(Handler{})
	httpcaddyfile.RegisterHandlerDirective("berth_storage_proxy", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("berth_storage_proxy", httpcaddyfile.Before, "reverse_proxy")
}

// Handler will stream storage-folder transfers checked by signed tokens;
// for now it answers every request with 501.
type Handler struct{}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.berth_storage_proxy",
		New: func() caddy.Module { return new(Handler) },
	}
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (Handler) ServeHTTP(w http.ResponseWriter, _ *http.Request, _ caddyhttp.Handler) error {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusNotImplemented)
	return json.NewEncoder(w).Encode(api.Problem{
		Title: "Not Implemented", Status: http.StatusNotImplemented, Detail: "storage proxy: not implemented yet",
	})
}

// UnmarshalCaddyfile sets up the handler from `berth_storage_proxy` (no
// options yet).
func (*Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	return m, m.UnmarshalCaddyfile(h.Dispenser)
}

// Interface guards.
var (
	_ caddyhttp.MiddlewareHandler = Handler{}
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)
