package auth

import (
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	g := NewGuard(3, time.Minute)
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if _, blocked := g.Blocked("Bob@example.com", t0); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		g.Failed("bob@example.com", t0.Add(time.Duration(i)*time.Second))
	}
	wait, blocked := g.Blocked("BOB@example.com", t0.Add(3*time.Second))
	if !blocked || wait != 57*time.Second {
		t.Errorf("after 3 failures: blocked=%v wait=%v, want true and 57s", blocked, wait)
	}
	if _, blocked := g.Blocked("alice@example.com", t0); blocked {
		t.Errorf("another account is blocked too")
	}
	if _, blocked := g.Blocked("bob@example.com", t0.Add(61*time.Second)); blocked {
		t.Errorf("still blocked after the first failure left the window")
	}
	g.Succeeded("bob@example.com")
	if _, blocked := g.Blocked("bob@example.com", t0.Add(3*time.Second)); blocked {
		t.Errorf("still blocked after a success")
	}
}

func TestCheckPasswordOrDummy(t *testing.T) {
	h, err := HashPassword("right-password")
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPasswordOrDummy(h, "right-password") || CheckPasswordOrDummy(h, "wrong") || CheckPasswordOrDummy("", "anything") {
		t.Errorf("CheckPasswordOrDummy is off")
	}
}
