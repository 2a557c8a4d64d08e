package edge

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("berth", parseGlobalOption)
}

// parseGlobalOption sets up the berth app from the global option:
//
//	berth {
//	    valkey      <host:port>
//	    secret      <hex>
//	    manager     <url>
//	    public_url  <url>
//	    apps_domain <domain>
//	    app_ports   <first-last>|off
//	    resync      <duration>
//	}
func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	a := new(App)
	if err := a.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "berth", Value: caddyconfig.JSON(a, nil)}, nil
}

// UnmarshalCaddyfile fills a from the berth global option block.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		key := d.Val()
		if key == "resync" {
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil {
				return d.Errf("parsing resync interval: %v", err)
			}
			a.ResyncInterval = caddy.Duration(dur)
			if d.NextArg() {
				return d.ArgErr()
			}
			continue
		}
		var dst *string
		switch key {
		case "valkey":
			dst = &a.Valkey
		case "secret":
			dst = &a.Secret
		case "manager":
			dst = &a.ManagerURL
		case "public_url":
			dst = &a.PublicURL
		case "apps_domain":
			dst = &a.AppsDomain
		case "app_ports":
			dst = &a.AppPorts
		default:
			return d.Errf("unknown berth option %q", key)
		}
		// An env placeholder that expands to nothing leaves no argument:
		// keep the default then.
		if d.NextArg() {
			*dst = d.Val()
		}
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	return nil
}

// Interface guard.
var _ caddyfile.Unmarshaler = (*App)(nil)
