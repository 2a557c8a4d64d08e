// Package apptoken mints and checks the signed tokens that open session apps.
//
// A token is base64url(JSON claims) + "." + base64url(HMAC-SHA256(secret,
// payload)). The manager mints one-time "open" tokens for open_url; the edge
// checks them, marks the nonce used in Valkey, and sets a longer-lived "app"
// token as a cookie on that app's host only. Both sides share the secret
// (var/secret under `berth up`).
package apptoken

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Token kinds.
const (
	KindOpen = "open" // one-time, in open_url, short-lived
	KindApp  = "app"  // the app cookie
)

// Lifetimes.
const (
	OpenTTL = 2 * time.Minute
	AppTTL  = 12 * time.Hour
)

// QueryParam is open_url's token parameter; AuthPath is the edge path that
// takes it.
const (
	QueryParam = "berth_token"
	AuthPath   = "/_berth/auth"
)

// Claims is what a token says.
type Claims struct {
	Kind   string `json:"k"`
	UserID string `json:"u"`
	Admin  bool   `json:"a,omitempty"`
	// Host is the app host (host label, or "port:<n>" in port-mapping mode)
	// the token is good for.
	Host  string `json:"h"`
	Exp   int64  `json:"e"` // unix seconds
	Nonce string `json:"n,omitempty"`
}

// Errors.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("token signature does not match")
	ErrExpired   = errors.New("token expired")
)

// New returns claims of kind for user on host, expiring after ttl, with a
// fresh random nonce.
func New(kind, userID string, admin bool, host string, ttl time.Duration, now time.Time) Claims {
	var n [12]byte
	_, _ = rand.Read(n[:])
	return Claims{Kind: kind, UserID: userID, Admin: admin, Host: host, Exp: now.Add(ttl).Unix(), Nonce: hex.EncodeToString(n[:])}
}

// Sign encodes and signs c.
func Sign(secret []byte, c Claims) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encoding token: %w", err)
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + base64.RawURLEncoding.EncodeToString(sum(secret, p)), nil
}

// Verify checks tok's signature and expiry and returns its claims.
func Verify(secret []byte, tok string, now time.Time) (Claims, error) {
	p, s, ok := strings.Cut(tok, ".")
	if !ok {
		return Claims{}, ErrMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(sig, sum(secret, p)) {
		return Claims{}, ErrSignature
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Claims{}, ErrMalformed
	}
	var c Claims
	if err := json.Unmarshal(b, &c); err != nil {
		return Claims{}, ErrMalformed
	}
	if now.Unix() > c.Exp {
		return Claims{}, ErrExpired
	}
	return c, nil
}

// CookieName is the app cookie's name for host: distinct per host, so a
// cookie for one app is never mistaken for another's.
func CookieName(host string) string {
	h := sha256.Sum256([]byte(host))
	return "berth_app_" + hex.EncodeToString(h[:6])
}

func sum(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(payload))
	return m.Sum(nil)
}
