package appproxy

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func init() {
	caddy.RegisterModule(Upstreams{})
}

// Upstreams is the dynamic upstream source "berth": it gives reverse_proxy
// the upstream that berth_app_proxy resolved for this request (the request
// variable berth.upstream). Use it behind berth_app_proxy only.
type Upstreams struct{}

// CaddyModule returns the Caddy module information.
func (Upstreams) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.upstreams.berth",
		New: func() caddy.Module { return new(Upstreams) },
	}
}

// errNoUpstream means berth_app_proxy did not run before reverse_proxy.
var errNoUpstream = errors.New("berth upstreams: no app resolved for this request; put berth_app_proxy before reverse_proxy")

// GetUpstreams implements reverseproxy.UpstreamSource.
func (Upstreams) GetUpstreams(r *http.Request) ([]*reverseproxy.Upstream, error) {
	dial, _ := caddyhttp.GetVar(r.Context(), UpstreamVar).(string)
	if dial == "" {
		return nil, errNoUpstream
	}
	return []*reverseproxy.Upstream{{Dial: dial}}, nil
}

// UnmarshalCaddyfile sets up the source from `dynamic berth` (no options).
func (Upstreams) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the source name
	if d.NextArg() {
		return d.ArgErr()
	}
	if d.NextBlock(0) {
		return d.Errf("berth upstreams take no options")
	}
	return nil
}

// Interface guards.
var (
	_ reverseproxy.UpstreamSource = Upstreams{}
	_ caddyfile.Unmarshaler       = Upstreams{}
)
