package manager_test

import (
	"fmt"
	"testing"

	"github.com/berth-dev/berth/manager/httpapi"
)

// TestLoginLockout: password guessing against one account is cut off with
// 429 and Retry-After; other accounts are not affected.
func TestLoginLockout(t *testing.T) {
	e := start(t)
	body := `{"email":"victim@example.com","password":"guess"}`
	for i := 0; i < httpapi.MaxLoginFails; i++ {
		if status, _, p, _ := e.raw("POST", "/api/v1/auth/login", body, nil); status != 401 {
			t.Fatalf("attempt %d: %d %+v, want 401", i+1, status, p)
		}
	}
	status, _, p, resp := e.raw("POST", "/api/v1/auth/login", body, nil)
	if status != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("attempt %d: %d %q (Retry-After %q), want 429 with Retry-After", httpapi.MaxLoginFails+1, status, p.Detail, resp.Header.Get("Retry-After"))
	}
	ok := fmt.Sprintf(`{"email":%q,"password":%q}`, adminEmail, adminPass)
	if status, _, p, _ := e.raw("POST", "/api/v1/auth/login", ok, nil); status != 200 {
		t.Errorf("another account's login: %d %+v", status, p)
	}
}
