// Package all registers every Berth Caddy module (the berth app, the app
// proxy and its upstream source, the web server and the storage proxy) by
// blank imports, as Caddy's modules/standard does for the standard ones.
package all

import (
	_ "github.com/berth-dev/berth/caddymodules/appproxy"     // http.handlers.berth_app_proxy, http.reverse_proxy.upstreams.berth
	_ "github.com/berth-dev/berth/caddymodules/edge"         // berth (app)
	_ "github.com/berth-dev/berth/caddymodules/storageproxy" // http.handlers.berth_storage_proxy
	_ "github.com/berth-dev/berth/caddymodules/webserver"    // http.handlers.berth_webserver
)
