package auth

import (
	"strings"
	"testing"
)

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := CheckPassword(h, tt.pw); got != tt.want {
			t.Errorf("CheckPassword(%q) = %v, want %v", tt.pw, got, tt.want)
		}
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("73-byte password accepted")
	}
}

func TestKeypairAndToken(t *testing.T) {
	ak, sk := NewKeypair()
	ak2, sk2 := NewKeypair()
	if len(ak) != 20 || !strings.HasPrefix(ak, "BK") || len(sk) != 40 {
		t.Errorf("keypair %q %q: bad shape", ak, sk)
	}
	if ak == ak2 || sk == sk2 {
		t.Error("keypairs repeat")
	}
	tok := NewToken()
	if TokenHash(tok) == TokenHash(NewToken()) || len(TokenHash(tok)) != 64 {
		t.Error("token hashes repeat or have the wrong length")
	}
}
