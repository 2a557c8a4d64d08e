package httpapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/apptoken"
	"github.com/berth-dev/berth/manager/database"
)

func (s *Server) sessionApps(w http.ResponseWriter, r *http.Request, u api.User) {
	rec, ok := s.resolve(w, r, u)
	if !ok {
		return
	}
	if rec.Status != api.StatusRunning {
		problem(w, http.StatusConflict, "session %s is %s, not RUNNING: its apps are not up", rec.Name, rec.Status)
		return
	}
	apps, err := s.apps(r, rec, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, apps)
}

// apps builds the App list of a running session for user u, each with a
// fresh one-time open URL.
func (s *Server) apps(r *http.Request, rec database.Record, u api.User) ([]api.App, error) {
	var edgePorts map[string]int
	if s.cfg.PortMode {
		var err error
		if edgePorts, err = s.db.SessionPorts(r.Context(), rec.ID); err != nil {
			return nil, err
		}
	}
	out := []api.App{}
	for _, sp := range rec.Apps {
		label := api.HostLabel(rec.Name, rec.ID, sp.Name)
		open, err := s.openURL(label, u)
		if err != nil {
			return nil, err
		}
		a := api.App{Name: sp.Name, Protocol: sp.Protocol, Port: sp.Port, URL: s.appURL(label), OpenURL: open,
			Public: rec.Type == api.TypeInference}
		if p, ok := edgePorts[sp.Name]; ok {
			a.PortURL = fmt.Sprintf("%s://%s/", s.appScheme(), net.JoinHostPort(s.publicHost(), strconv.Itoa(p)))
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// appURL is the wildcard-subdomain URL of an app host label.
func (s *Server) appURL(label string) string {
	scheme := s.appScheme()
	host := label + "." + s.cfg.AppsDomain
	if p := s.cfg.EdgePort; p != 0 && !(scheme == "http" && p == 80) && !(scheme == "https" && p == 443) {
		host += ":" + strconv.Itoa(p)
	}
	return scheme + "://" + host + "/"
}

// openURL is the app URL with a fresh one-time token for user u.
func (s *Server) openURL(label string, u api.User) (string, error) {
	c := apptoken.New(apptoken.KindOpen, u.ID, isAdmin(u), label, apptoken.OpenTTL, s.now())
	tok, err := apptoken.Sign(s.cfg.Secret, c)
	if err != nil {
		return "", fmt.Errorf("minting app token: %w", err)
	}
	return strings.TrimSuffix(s.appURL(label), "/") + apptoken.AuthPath + "?" + apptoken.QueryParam + "=" + url.QueryEscape(tok), nil
}

// launchApp is the browser entry to an app: a logged-in, allowed user is
// redirected to a fresh open URL; others are sent to log in first.
func (s *Server) launchApp(w http.ResponseWriter, r *http.Request) {
	host := strings.TrimSpace(r.URL.Query().Get("host"))
	if host == "" {
		problem(w, http.StatusBadRequest, "query parameter host is required")
		return
	}
	label := host
	if h, _, err := net.SplitHostPort(label); err == nil {
		label = h
	}
	label = strings.TrimSuffix(label, "."+s.cfg.AppsDomain)
	name, short, app, err := api.ParseHostLabel(label)
	if err != nil {
		problem(w, http.StatusBadRequest, "%v", err)
		return
	}
	u, ok := s.cookieUser(r)
	if !ok {
		here := strings.TrimSuffix(s.cfg.PublicURL, "/") + Prefix + "/apps/launch?host=" + url.QueryEscape(label)
		http.Redirect(w, r, strings.TrimSuffix(s.cfg.PublicURL, "/")+"/login?next="+url.QueryEscape(here), http.StatusFound)
		return
	}
	rec, err := s.db.SessionByLabel(r.Context(), name, short)
	if errors.Is(err, database.ErrNotFound) || (err == nil && !hasApp(rec, app)) {
		problem(w, http.StatusNotFound, "no app %s", label)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rec.OwnerID != u.ID && !isAdmin(u) && rec.Type != api.TypeInference {
		problem(w, http.StatusForbidden, "app %s belongs to another user", label)
		return
	}
	if rec.Status != api.StatusRunning {
		problem(w, http.StatusConflict, "session %s is %s, not RUNNING", rec.Name, rec.Status)
		return
	}
	var open string
	if p := r.URL.Query().Get("port"); p != "" {
		// port-mapping mode: the token is good for that edge port only
		open, err = s.portOpenURL(r, rec, app, p, u)
	} else {
		open, err = s.openURL(label, u)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, open, http.StatusFound)
}

// portOpenURL is the port-mapping URL of app with a fresh one-time token,
// after checking that port really is that app's edge port.
func (s *Server) portOpenURL(r *http.Request, rec database.Record, app, port string, u api.User) (string, error) {
	n, err := strconv.Atoi(port)
	if err != nil || !s.cfg.PortMode {
		return "", Errorf(http.StatusBadRequest, "bad port %q: port-mapping mode is off or the port is not a number", port)
	}
	ports, err := s.db.SessionPorts(r.Context(), rec.ID)
	if err != nil {
		return "", err
	}
	if ports[app] != n {
		return "", Errorf(http.StatusNotFound, "port %d is not app %s of session %s", n, app, rec.Name)
	}
	c := apptoken.New(apptoken.KindOpen, u.ID, isAdmin(u), "port:"+port, apptoken.OpenTTL, s.now())
	tok, err := apptoken.Sign(s.cfg.Secret, c)
	if err != nil {
		return "", fmt.Errorf("minting app token: %w", err)
	}
	return fmt.Sprintf("%s://%s%s?%s=%s", s.appScheme(), net.JoinHostPort(s.publicHost(), port), apptoken.AuthPath,
		apptoken.QueryParam, url.QueryEscape(tok)), nil
}

func hasApp(rec database.Record, app string) bool {
	for _, a := range rec.Apps {
		if a.Name == app {
			return true
		}
	}
	return false
}
