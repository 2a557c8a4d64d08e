package appproxy

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/apptoken"
	"github.com/berth-dev/berth/caddymodules/edge"
)

// target is the app a request is for.
type target struct {
	route api.Route
	// hostKey is what app tokens name as their host: the host label in
	// wildcard-subdomain mode, "port:<n>" in port-mapping mode.
	hostKey string
	// label is the app's host label (also in port-mapping mode).
	label string
	// port is the edge port in port-mapping mode, else 0.
	port int
}

// routes is the part of the route table resolution needs.
type routes interface {
	ByLabel(label string) (api.Route, bool)
	ByPort(port int) (api.Route, bool)
}

// resolver finds the app of a request.
type resolver struct {
	domain string // apps domain, lower case, no dots around
	ports  edge.PortRange
	table  routes
}

// resolve finds the app for a request to host (the Host header, maybe with
// a port) that arrived on local port localPort. When no app matches it
// returns ok=false and a name for what was asked for, for the 404.
func (rv resolver) resolve(host string, localPort int) (t target, name string, ok bool) {
	if label, isApp := rv.hostLabel(host); isApp {
		if _, _, _, err := api.ParseHostLabel(label); err != nil {
			return target{}, label, false
		}
		r, found := rv.table.ByLabel(label)
		if !found {
			return target{}, label, false
		}
		return target{route: r, hostKey: label, label: label}, label, true
	}
	if rv.ports.Contains(localPort) {
		r, found := rv.table.ByPort(localPort)
		if !found {
			return target{}, "on port " + strconv.Itoa(localPort), false
		}
		return target{route: r, hostKey: PortHostKey(localPort), label: r.HostLabel, port: localPort}, r.HostLabel, true
	}
	return target{}, "at " + host, false
}

// hostLabel returns the first label of a host "<label>.<domain>[:port]";
// isApp is false when host is not directly under the apps domain.
func (rv resolver) hostLabel(host string) (label string, isApp bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	label, ok := strings.CutSuffix(host, "."+rv.domain)
	if !ok || label == "" || strings.Contains(label, ".") {
		return "", false
	}
	return label, true
}

// PortHostKey is the app-token host of an app in port-mapping mode.
func PortHostKey(port int) string { return "port:" + strconv.Itoa(port) }

// Access errors.
var (
	// errLoginRequired: no (valid) app cookie; the client must open the
	// app through its open_url.
	errLoginRequired = errors.New("login required: open the app through its open_url")
	// errForbidden: a valid cookie of a user who may not open the app.
	errForbidden = errors.New("not allowed: the app belongs to another user")
)

// checkAccess decides whether a request with app cookie value cookie (""
// when absent) may reach the app: public apps are open; otherwise the
// cookie must be a valid app token for hostKey of the route's owner or of
// an admin.
func checkAccess(secret []byte, rt api.Route, hostKey, cookie string, now time.Time) error {
	if rt.Public {
		return nil
	}
	if cookie == "" {
		return errLoginRequired
	}
	c, err := apptoken.Verify(secret, cookie, now)
	if err != nil || c.Kind != apptoken.KindApp || c.Host != hostKey {
		return errLoginRequired
	}
	if !mayOpen(rt, c) {
		return errForbidden
	}
	return nil
}

// mayOpen reports whether the token's user may open the app.
func mayOpen(rt api.Route, c apptoken.Claims) bool {
	return rt.Public || c.Admin || (c.UserID != "" && c.UserID == rt.OwnerID)
}

// stripEdgeCookies removes every cookie whose name starts with "berth_"
// from a Cookie header value, keeping the others byte for byte. The edge's
// cookies (app cookies, the login cookie) never reach an app.
func stripEdgeCookies(header string) string {
	var kept []string
	for _, part := range strings.Split(header, ";") {
		p := strings.TrimSpace(part)
		if p == "" {
			continue
		}
		name, _, _ := strings.Cut(p, "=")
		if strings.HasPrefix(strings.TrimSpace(name), "berth_") {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "; ")
}
