package main

import "testing"

func TestAppSites(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"10200-10202", "http://:10200 http://:10201 http://:10202", false},
		{"10200", "http://:10200", false},
		{"off", "", true},
		{"1-9999", "", true},
		{"nope", "", true},
	}
	for _, tc := range tests {
		got, err := appSites(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("appSites(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
