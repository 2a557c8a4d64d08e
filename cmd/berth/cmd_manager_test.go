package main

import "testing"

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in   string
		want [2]int
		ok   bool
	}{
		{"10200-10299", [2]int{10200, 10299}, true},
		{" 10200 - 10200 ", [2]int{10200, 10200}, true},
		{"", [2]int{}, true},
		{"off", [2]int{}, true},
		{"0", [2]int{}, true},
		{"10299-10200", [2]int{}, false},
		{"10200", [2]int{}, false},
		{"0-10", [2]int{}, false},
		{"1-70000", [2]int{}, false},
	}
	for _, tt := range tests {
		got, err := parsePortRange(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parsePortRange(%q) = %v, %v", tt.in, got, err)
		}
	}
}
