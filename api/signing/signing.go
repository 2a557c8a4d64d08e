// Package signing implements Berth's keypair request signing, modelled on
// Backend.AI's: an HMAC-SHA256 over the method, the path with its query, the
// date, the host, the content type and the SHA-256 of the body, keyed by a
// key derived from the secret key, the day and the host.
//
//	Authorization: Berth signMethod=HMAC-SHA256, credential=<access key>:<hex signature>
//	X-Berth-Date:  2026-11-27T03:43:13Z   (RFC 3339, UTC; must be within Window of the server clock)
//
// String to sign (joined by "\n"):
//
//	METHOD
//	/path?query
//	<X-Berth-Date>
//	host:<Host header, lower case>
//	content-type:<Content-Type header>
//	<hex sha256 of the body>
//
// Signing key: HMAC-SHA256(HMAC-SHA256(secret, "YYYYMMDD" of the date), host).
package signing

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Header names and the scheme word.
const (
	HeaderDate = "X-Berth-Date"
	Scheme     = "Berth"
	Method     = "HMAC-SHA256"
)

// Window is how far a request's date may be from the server's clock.
const Window = 15 * time.Minute

// Errors returned by Verify, to map to 401.
var (
	ErrNoAuth     = errors.New("no Authorization header")
	ErrMalformed  = errors.New("malformed Authorization header")
	ErrBadDate    = errors.New("missing or unparsable " + HeaderDate + " header")
	ErrSkew       = errors.New("request date outside the allowed window")
	ErrBadSig     = errors.New("signature does not match")
	ErrUnknownKey = errors.New("unknown access key")
)

// Sign adds the date and Authorization headers to r. It reads and restores
// r.Body to hash it.
func Sign(r *http.Request, accessKey, secretKey string, now time.Time) error {
	body, err := readBody(r)
	if err != nil {
		return fmt.Errorf("signing request: %w", err)
	}
	date := now.UTC().Format(time.RFC3339)
	r.Header.Set(HeaderDate, date)
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	sig := signature(secretKey, r.Method, pathQuery(r), date, host, r.Header.Get("Content-Type"), body, now.UTC())
	r.Header.Set("Authorization", fmt.Sprintf("%s signMethod=%s, credential=%s:%s", Scheme, Method, accessKey, sig))
	return nil
}

// AccessKey returns the access key named in r's Authorization header, or
// ErrNoAuth / ErrMalformed.
func AccessKey(r *http.Request) (string, error) {
	ak, _, err := parse(r.Header.Get("Authorization"))
	return ak, err
}

// IsSigned reports whether r carries a Berth Authorization header.
func IsSigned(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), Scheme+" ")
}

// Verify checks r's signature against secretKey at time now. It reads and
// restores r.Body.
func Verify(r *http.Request, secretKey string, now time.Time) error {
	_, sig, err := parse(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	date := r.Header.Get(HeaderDate)
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return ErrBadDate
	}
	if d := now.Sub(t); d > Window || d < -Window {
		return fmt.Errorf("%w: date %s, server time %s", ErrSkew, date, now.UTC().Format(time.RFC3339))
	}
	body, err := readBody(r)
	if err != nil {
		return fmt.Errorf("verifying request: %w", err)
	}
	want := signature(secretKey, r.Method, pathQuery(r), date, r.Host, r.Header.Get("Content-Type"), body, t.UTC())
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return ErrBadSig
	}
	return nil
}

func parse(h string) (accessKey, sig string, err error) {
	if h == "" {
		return "", "", ErrNoAuth
	}
	rest, ok := strings.CutPrefix(h, Scheme+" ")
	if !ok {
		return "", "", ErrMalformed
	}
	var method, cred string
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return "", "", ErrMalformed
		}
		switch k {
		case "signMethod":
			method = v
		case "credential":
			cred = v
		}
	}
	if method != Method {
		return "", "", fmt.Errorf("%w: unsupported signMethod %q", ErrMalformed, method)
	}
	accessKey, sig, ok = strings.Cut(cred, ":")
	if !ok || accessKey == "" || sig == "" {
		return "", "", ErrMalformed
	}
	return accessKey, sig, nil
}

func signature(secret, method, pq, date, host, ctype string, body []byte, t time.Time) string {
	k1 := mac([]byte(secret), []byte(t.Format("20060102")))
	key := mac(k1, []byte(strings.ToLower(host)))
	bh := sha256.Sum256(body)
	msg := strings.Join([]string{
		strings.ToUpper(method), pq, date,
		"host:" + strings.ToLower(host),
		"content-type:" + ctype,
		hex.EncodeToString(bh[:]),
	}, "\n")
	return hex.EncodeToString(mac(key, []byte(msg)))
}

func mac(key, msg []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(msg)
	return h.Sum(nil)
}

func pathQuery(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return r.URL.EscapedPath()
	}
	return r.URL.EscapedPath() + "?" + r.URL.RawQuery
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return b, nil
}
