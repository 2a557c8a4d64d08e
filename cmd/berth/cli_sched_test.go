package main

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStartsAt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"10m", time.Date(2026, 3, 1, 12, 10, 0, 0, time.UTC), ""},
		{"1h30m", time.Date(2026, 3, 1, 13, 30, 0, 0, time.UTC), ""},
		{"0s", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), ""},
		{"2026-04-01T08:00:00Z", time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC), ""},
		{"2026-04-01T10:00:00+02:00", time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC), ""},
		{"-5m", time.Time{}, "want an RFC 3339 time"},
		{"tomorrow", time.Time{}, "want an RFC 3339 time"},
	}
	for _, tt := range tests {
		got, err := parseStartsAt(tt.in, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseStartsAt(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseStartsAt(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCreateRequestSchedulingFlags(t *testing.T) {
	f := newFakeAPI(t)
	r := runCLI(t, f, "", "session", "create", "--image", "img", "--type", "batch",
		"--starts-at", "2026-04-01T08:00:00Z", "--depends-on", "prep", "--depends-on", "1a2b3c4d")
	if r.code != 0 {
		t.Fatalf("got %+v", r)
	}
	want := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	if got := f.lastCreate; got.StartsAt == nil || !got.StartsAt.Equal(want) || !reflect.DeepEqual(got.DependsOn, []string{"prep", "1a2b3c4d"}) {
		t.Errorf("request = %+v", got)
	}
	if r := runCLI(t, f, "", "session", "create", "--image", "img", "--starts-at", "soon"); r.code == 0 || !strings.Contains(r.stderr, "--starts-at") {
		t.Errorf("bad --starts-at: %+v", r)
	}
}
