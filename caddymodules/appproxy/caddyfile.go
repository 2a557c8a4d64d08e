package appproxy

import (
	"encoding/json"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func init() {
	httpcaddyfile.RegisterDirective("berth_app_proxy", parseCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("berth_app_proxy", httpcaddyfile.Before, "reverse_proxy")
}

// parseCaddyfile sets up the app proxy from
//
//	berth_app_proxy [<matcher>]
//
// which takes no arguments and no block, and expands (as forward_auth does)
// into the pair
//
//	route [<matcher>] {
//	    berth_app_proxy handler (http.handlers.berth_app_proxy)
//	    reverse_proxy {
//	        dynamic berth
//	        flush_interval -1
//	    }
//	}
//
// The settings (secret, apps domain, app ports, ...) live in the berth
// global option.
func parseCaddyfile(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	h.Next() // directive name
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	h.Next() // directive name again: ExtractMatcherSet resets the dispenser
	if h.NextArg() {
		return nil, h.ArgErr()
	}
	if h.NextBlock(0) {
		return nil, h.Errf("berth_app_proxy takes no options; configure it in the berth global option")
	}
	rp := &reverseproxy.Handler{
		DynamicUpstreamsRaw: caddyconfig.JSONModuleObject(Upstreams{}, "source", "berth", nil),
		// Flush at once: interactive apps stream (terminals, notebooks, SSE).
		FlushInterval: caddy.Duration(-1),
	}
	sub := &caddyhttp.Subroute{Routes: caddyhttp.RouteList{{
		HandlersRaw: []json.RawMessage{
			caddyconfig.JSONModuleObject(Handler{}, "handler", "berth_app_proxy", nil),
			caddyconfig.JSONModuleObject(rp, "handler", "reverse_proxy", nil),
		},
	}}}
	return h.NewRoute(matcherSet, sub), nil
}
