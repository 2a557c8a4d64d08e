// Package auth provides the manager's credentials: bcrypt password hashes,
// keypairs for request signing, and login-cookie tokens (stored only as
// their SHA-256).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// MinPasswordLen is the shortest password accepted for a new account.
const MinPasswordLen = 8

// HashPassword returns the bcrypt hash of password.
func HashPassword(password string) (string, error) {
	if len(password) > 72 {
		return "", errors.New("password is longer than 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hashing password: %w", err)
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// NewKeypair returns a fresh access key ("BK" + 18 base32 characters) and
// secret key (40 URL-safe base64 characters).
func NewKeypair() (accessKey, secretKey string) {
	var a [12]byte
	var s [30]byte
	_, _ = rand.Read(a[:])
	_, _ = rand.Read(s[:])
	ak := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(a[:])
	return "BK" + ak[:18], base64.RawURLEncoding.EncodeToString(s[:])
}

// NewToken returns a random login token for a cookie.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// TokenHash is what the database stores for a login token.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
