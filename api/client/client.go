// Package client is a typed HTTP client of Berth's REST API (docs/api.md).
// Every request except Login is signed with the caller's keypair
// (api/signing); a non-2xx answer becomes an *Error carrying the
// problem+json detail.
//
//	c := client.New("http://localhost:8080", accessKey, secretKey)
//	s, err := c.CreateSession(ctx, api.CreateSessionRequest{Image: "localhost/berth-hello"})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berth-dev/berth/api/signing"
)

// DefaultEndpoint is where a local `berth up` serves the API.
const DefaultEndpoint = "http://localhost:8080"

// apiPrefix is the path every endpoint lives under.
const apiPrefix = "/api/v1"

// Client talks to one Berth endpoint as one keypair. It is safe for
// concurrent use.
type Client struct {
	base      string // endpoint + apiPrefix, no trailing slash
	accessKey string
	secretKey string
	http      *http.Client
	now       func() time.Time
	poll      time.Duration
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithClock makes the Client sign requests with the time now returns.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithPollInterval sets how often WaitSession polls (default 400 ms).
func WithPollInterval(d time.Duration) Option { return func(c *Client) { c.poll = d } }

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a Client of the API at endpoint (e.g. http://localhost:8080;
// an endpoint that already ends in /api/v1 is taken as is) signing with the
// given keypair. An empty endpoint means DefaultEndpoint.
func New(endpoint, accessKey, secretKey string, opts ...Option) *Client {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	base := strings.TrimRight(endpoint, "/")
	if !strings.HasSuffix(base, apiPrefix) {
		base += apiPrefix
	}
	c := &Client{
		base:      base,
		accessKey: accessKey,
		secretKey: secretKey,
		http:      &http.Client{Timeout: 5 * time.Minute},
		now:       time.Now,
		poll:      400 * time.Millisecond,
		userAgent: "berth-client",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is a non-2xx answer from the API. Its Error() is the problem's
// detail, so a CLI can print it as is.
type Error struct {
	Status int
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// IsStatus reports whether err is an *Error with the given HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// request describes one call.
type request struct {
	method string
	path   string // below apiPrefix, already escaped
	query  url.Values
	body   []byte
	ctype  string
	signed bool
}

// do sends r and decodes a 2xx JSON answer into out (when out is not nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return fmt.Errorf("building request %s %s: %w", r.method, r.path, err)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.signed {
		if c.accessKey == "" || c.secretKey == "" {
			return errors.New("no credentials: run `berth login` or set BERTH_ACCESS_KEY and BERTH_SECRET_KEY")
		}
		if err := signing.Sign(req, c.accessKey, c.secretKey, c.now()); err != nil {
			return err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("reaching %s: %w", strings.TrimSuffix(c.base, apiPrefix), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading answer to %s %s: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return problem(resp, data)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding answer to %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// problem turns a non-2xx answer into an *Error, preferring the
// problem+json detail, then its title, then the body's first line.
func problem(resp *http.Response, data []byte) *Error {
	e := &Error{Status: resp.StatusCode}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(data, &p) == nil {
		e.Detail = strings.TrimSpace(p.Detail)
		if e.Detail == "" {
			e.Detail = strings.TrimSpace(p.Title)
		}
	}
	if e.Detail == "" {
		line, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		if len(line) > 200 {
			line = line[:200] + "..."
		}
		e.Detail = resp.Status
		if e.Detail == "" {
			e.Detail = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		if line != "" && !strings.HasPrefix(line, "<") {
			e.Detail += ": " + line
		}
	}
	return e
}

// jsonBody encodes v for a request.
func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	return b, nil
}

// get sends a signed GET.
func (c *Client) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, request{method: http.MethodGet, path: path, query: query, signed: true}, out)
}

// send sends a signed request with a JSON body (none when in is nil).
func (c *Client) send(ctx context.Context, method, path string, in, out any) error {
	r := request{method: method, path: path, signed: true}
	if in != nil {
		b, err := jsonBody(in)
		if err != nil {
			return err
		}
		r.body, r.ctype = b, "application/json"
	}
	return c.do(ctx, r, out)
}

// ref escapes a session reference or other name for a path segment.
func ref(s string) string { return url.PathEscape(s) }
