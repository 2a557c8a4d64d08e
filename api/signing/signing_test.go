package signing

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newReq(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	var r *http.Request
	var err error
	if body == "" {
		r, err = http.NewRequest(method, url, nil)
	} else {
		r, err = http.NewRequest(method, url, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSignVerify(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 43, 0, 0, time.UTC)
	const ak, sk = "AKTEST", "secret"
	tests := []struct {
		name    string
		tamper  func(r *http.Request)
		at      time.Time
		secret  string
		wantErr error
	}{
		{"valid", nil, now, sk, nil},
		{"clock a little ahead", nil, now.Add(10 * time.Minute), sk, nil},
		{"wrong secret", nil, now, "other", ErrBadSig},
		{"too old", nil, now.Add(20 * time.Minute), sk, ErrSkew},
		{"too new", nil, now.Add(-20 * time.Minute), sk, ErrSkew},
		{"body changed", func(r *http.Request) { r.Body = nopBody(`{"image":"evil"}`) }, now, sk, ErrBadSig},
		{"path changed", func(r *http.Request) { r.URL.Path = "/api/v1/users" }, now, sk, ErrBadSig},
		{"query changed", func(r *http.Request) { r.URL.RawQuery = "all=1" }, now, sk, ErrBadSig},
		{"method changed", func(r *http.Request) { r.Method = "DELETE" }, now, sk, ErrBadSig},
		{"host changed", func(r *http.Request) { r.Host = "evil.example:8080" }, now, sk, ErrBadSig},
		{"content type changed", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, now, sk, ErrBadSig},
		{"date changed", func(r *http.Request) { r.Header.Set(HeaderDate, now.Add(time.Second).Format(time.RFC3339)) }, now, sk, ErrBadSig},
		{"date missing", func(r *http.Request) { r.Header.Del(HeaderDate) }, now, sk, ErrBadDate},
		{"no auth", func(r *http.Request) { r.Header.Del("Authorization") }, now, sk, ErrNoAuth},
		{"other scheme", func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, now, sk, ErrMalformed},
		{"other method", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), Method, "HMAC-MD5", 1))
		}, now, sk, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReq(t, "POST", "http://localhost:8080/api/v1/sessions", `{"image":"localhost/berth-hello"}`)
			if err := Sign(r, ak, sk, now); err != nil {
				t.Fatal(err)
			}
			if tt.tamper != nil {
				tt.tamper(r)
			}
			err := Verify(r, tt.secret, tt.at)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestAccessKeyAndBodyKept(t *testing.T) {
	r := newReq(t, "POST", "http://localhost:8080/api/v1/sessions?x=1", `{"a":1}`)
	if err := Sign(r, "AK1", "s", time.Now()); err != nil {
		t.Fatal(err)
	}
	if ak, err := AccessKey(r); err != nil || ak != "AK1" || !IsSigned(r) {
		t.Errorf("AccessKey = %q, %v", ak, err)
	}
	if err := Verify(r, "s", time.Now()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	b := make([]byte, 16)
	n, _ := r.Body.Read(b)
	if string(b[:n]) != `{"a":1}` {
		t.Errorf("body after verify = %q", b[:n])
	}
}

type body struct{ *strings.Reader }

func (body) Close() error { return nil }

func nopBody(s string) *body { return &body{strings.NewReader(s)} }
