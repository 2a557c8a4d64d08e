package api

import (
	"fmt"
	"strconv"
	"strings"
)

// App is one web app of a session, as `berth session apps` shows it.
type App struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	// Port is the port inside the container.
	Port int `json:"port"`
	// URL is the wildcard-subdomain URL, e.g. http://demo-1a2b3c4d-web.apps.localhost:8080/.
	URL string `json:"url"`
	// PortURL is the port-mapping URL, when that mode is on.
	PortURL string `json:"port_url,omitempty"`
	// OpenURL carries a one-time token: fetching it sets the app cookie for
	// the app's host only and redirects to the app.
	OpenURL string `json:"open_url"`
	// Public is true when anyone may open the app without logging in.
	Public bool `json:"public"`
}

// ServicePort is one app an image declares in its service-ports label.
type ServicePort struct {
	Name     string `json:"name"`
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

// Image labels that declare a session image's apps.
const (
	LabelServicePorts       = "berth.service-ports"
	LabelServicePortsCompat = "ai.backend.service-ports"
)

// ParseServicePorts parses "name:protocol:port[,name:protocol:port...]".
// An empty value gives no ports and no error.
func ParseServicePorts(v string) ([]ServicePort, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var out []ServicePort
	seen := map[string]bool{}
	for _, item := range strings.Split(v, ",") {
		parts := strings.Split(strings.TrimSpace(item), ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("parsing service port %q: want name:protocol:port", item)
		}
		name, proto := parts[0], strings.ToLower(parts[1])
		if !appNameOK(name) {
			return nil, fmt.Errorf("parsing service port %q: app name must be 1-12 characters a-z and 0-9", item)
		}
		port, err := strconv.Atoi(parts[2])
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("parsing service port %q: bad port", item)
		}
		if seen[name] {
			return nil, fmt.Errorf("parsing service ports: app %q declared twice", name)
		}
		seen[name] = true
		out = append(out, ServicePort{Name: name, Protocol: proto, Port: port})
	}
	return out, nil
}

// FormatServicePorts is the inverse of ParseServicePorts.
func FormatServicePorts(ps []ServicePort) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%s:%d", p.Name, p.Protocol, p.Port)
	}
	return b.String()
}

func appNameOK(s string) bool {
	if len(s) == 0 || len(s) > 12 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// HostLabel is the first DNS label of an app's wildcard URL:
// "<session name>-<first 8 hex digits of the session ID>-<app>".
func HostLabel(sessionName, sessionID, app string) string {
	return sessionName + "-" + ShortID(sessionID) + "-" + app
}

// ShortID is the first 8 hex digits of a session ID.
func ShortID(id string) string {
	id = strings.ReplaceAll(id, "-", "")
	if len(id) > 8 {
		id = id[:8]
	}
	return id
}

// ParseHostLabel splits a host label made by HostLabel.
func ParseHostLabel(label string) (sessionName, shortID, app string, err error) {
	i := strings.LastIndexByte(label, '-')
	if i <= 0 {
		return "", "", "", fmt.Errorf("parsing host label %q: no app part", label)
	}
	app, rest := label[i+1:], label[:i]
	j := strings.LastIndexByte(rest, '-')
	if j <= 0 || len(rest)-j-1 != 8 {
		return "", "", "", fmt.Errorf("parsing host label %q: no session ID part", label)
	}
	return rest[:j], rest[j+1:], app, nil
}
