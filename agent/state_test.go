package agent

import (
	"reflect"
	"testing"

	"github.com/berth-dev/berth/api"
)

func TestPortMap(t *testing.T) {
	apps := []api.ServicePort{{Name: "web", Protocol: "http", Port: 8080}, {Name: "jupyter", Protocol: "http", Port: 8888}}
	if got := formatPortMap(apps, map[string]int{"web": 30001, "jupyter": 30002}); got != "web:30001,jupyter:30002" {
		t.Errorf("formatPortMap = %q", got)
	}
	tests := []struct {
		in   string
		want map[string]int
	}{
		{"", map[string]int{}},
		{"web:30001", map[string]int{"web": 30001}},
		{"web:30001, jupyter:30002", map[string]int{"web": 30001, "jupyter": 30002}},
		{"web:x,:5,ssh,big:70000,ok:1", map[string]int{"ok": 1}},
	}
	for _, tt := range tests {
		if got := parsePortMap(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parsePortMap(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
