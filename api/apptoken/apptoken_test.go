package apptoken

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	c := New(KindOpen, "user-1", false, "demo-02092c66-web", OpenTTL, now)
	tok, err := Sign(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(secret, tok, now)
	if err != nil || got != c {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, c)
	}
	if c.Nonce == "" || New(KindOpen, "user-1", false, "h", OpenTTL, now).Nonce == c.Nonce {
		t.Errorf("nonces must be fresh and random")
	}
	tests := []struct {
		name    string
		tok     string
		secret  []byte
		at      time.Time
		wantErr error
	}{
		{"expired", tok, secret, now.Add(OpenTTL + time.Second), ErrExpired},
		{"other secret", tok, []byte("another secret"), now, ErrSignature},
		{"payload swapped", swapPayload(t, secret, tok), secret, now, ErrSignature},
		{"no dot", strings.ReplaceAll(tok, ".", ""), secret, now, ErrMalformed},
		{"bad base64", "!!!." + strings.Split(tok, ".")[1], secret, now, ErrSignature},
	}
	for _, tt := range tests {
		if _, err := Verify(tt.secret, tt.tok, tt.at); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.wantErr)
		}
	}
}

// swapPayload returns tok's signature on another token's payload.
func swapPayload(t *testing.T, secret []byte, tok string) string {
	other, err := Sign(secret, New(KindApp, "admin", true, "demo-02092c66-web", AppTTL, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(other, ".")[0] + "." + strings.Split(tok, ".")[1]
}

func TestCookieName(t *testing.T) {
	a, b := CookieName("demo-02092c66-web"), CookieName("demo-02092c66-api")
	if a == b || !strings.HasPrefix(a, "berth_app_") || CookieName("demo-02092c66-web") != a {
		t.Errorf("cookie names %q %q must be stable, distinct per host and start with berth_app_", a, b)
	}
}
