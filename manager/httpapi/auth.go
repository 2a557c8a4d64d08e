package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/signing"
	"github.com/berth-dev/berth/manager/auth"
	"github.com/berth-dev/berth/manager/database"
)

// LoginCookie is the browser login cookie's name.
const LoginCookie = "berth_login"

// LoginTTL is how long a login cookie lasts.
const LoginTTL = 24 * time.Hour

type userHandler func(w http.ResponseWriter, r *http.Request, u api.User)

// user wraps h with authentication: a signed request or the login cookie.
func (s *Server) user(h userHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, status, why := s.authenticate(r)
		if status != 0 {
			problem(w, status, "%s", why)
			return
		}
		h(w, r, u)
	}
}

// admin is user, for admins only (403 for others).
func (s *Server) admin(h userHandler) http.HandlerFunc {
	return s.user(func(w http.ResponseWriter, r *http.Request, u api.User) {
		if u.Role != api.RoleAdmin {
			problem(w, http.StatusForbidden, "%s %s is for admins only", r.Method, r.URL.Path)
			return
		}
		h(w, r, u)
	})
}

// authenticate returns the caller, or an HTTP status and reason.
func (s *Server) authenticate(r *http.Request) (api.User, int, string) {
	if r.Header.Get("Authorization") != "" {
		return s.authSigned(r)
	}
	if u, ok := s.cookieUser(r); ok {
		return u, 0, ""
	}
	if _, err := r.Cookie(LoginCookie); err == nil {
		return api.User{}, http.StatusUnauthorized, "login session expired or unknown: log in again"
	}
	return api.User{}, http.StatusUnauthorized, "authentication required: sign the request with a keypair or log in"
}

func (s *Server) authSigned(r *http.Request) (api.User, int, string) {
	ak, err := signing.AccessKey(r)
	if err != nil {
		return api.User{}, http.StatusUnauthorized, err.Error()
	}
	u, secret, err := s.db.Keypair(r.Context(), ak)
	if errors.Is(err, database.ErrNotFound) {
		return api.User{}, http.StatusUnauthorized, signing.ErrUnknownKey.Error() + " " + ak
	}
	if err != nil {
		s.log.Error("looking up access key", "err", err)
		return api.User{}, http.StatusInternalServerError, "looking up access key failed"
	}
	if err := signing.Verify(r, secret, s.now()); err != nil {
		var big *http.MaxBytesError
		if errors.As(err, &big) {
			return api.User{}, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is too large: the limit is %d bytes (%d MiB)", big.Limit, big.Limit>>20)
		}
		return api.User{}, http.StatusUnauthorized, err.Error()
	}
	return u, 0, ""
}

// cookieUser returns the user of a valid login cookie.
func (s *Server) cookieUser(r *http.Request) (api.User, bool) {
	c, err := r.Cookie(LoginCookie)
	if err != nil || c.Value == "" {
		return api.User{}, false
	}
	u, err := s.db.UserByLogin(r.Context(), auth.TokenHash(c.Value), s.now())
	if err != nil {
		if !errors.Is(err, database.ErrNotFound) {
			s.log.Error("looking up login session", "err", err)
		}
		return api.User{}, false
	}
	return u, true
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req api.LoginRequest
	if !decode(w, r, &req) {
		return
	}
	req.Email = strings.TrimSpace(req.Email)
	if req.Email == "" || req.Password == "" {
		problem(w, http.StatusUnprocessableEntity, "email and password are required")
		return
	}
	if wait, blocked := s.logins.Blocked(req.Email, s.now()); blocked {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		problem(w, http.StatusTooManyRequests, "too many failed logins for %s: try again in %d seconds", req.Email, secs)
		return
	}
	u, hash, err := s.db.UserByEmail(r.Context(), req.Email)
	if err != nil && !errors.Is(err, database.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		hash = "" // unknown email: compare against a dummy hash all the same
	}
	if !auth.CheckPasswordOrDummy(hash, req.Password) {
		s.logins.Failed(req.Email, s.now())
		problem(w, http.StatusUnauthorized, "invalid email or password")
		return
	}
	s.logins.Succeeded(req.Email)
	if u.AccessKey != "" {
		if _, secret, err := s.db.Keypair(r.Context(), u.AccessKey); err == nil {
			u.SecretKey = secret
		}
	}
	tok := auth.NewToken()
	exp := s.now().Add(LoginTTL)
	if err := s.db.CreateLogin(r.Context(), auth.TokenHash(tok), u.ID, exp); err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: LoginCookie, Value: tok, Path: "/", Expires: exp, MaxAge: int(LoginTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.appScheme() == "https"})
	reply(w, http.StatusOK, api.LoginResponse{User: u})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(LoginCookie)
	if err != nil || c.Value == "" {
		problem(w, http.StatusUnauthorized, "not logged in")
		return
	}
	if err := s.db.DeleteLogin(r.Context(), auth.TokenHash(c.Value)); err != nil {
		s.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: LoginCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, u api.User) {
	reply(w, http.StatusOK, u)
}
