package edge

import (
	"testing"

	"github.com/berth-dev/berth/api"
)

func TestTable(t *testing.T) {
	tb := NewTable()
	web := api.Route{HostLabel: "demo-1a2b3c4d-web", Upstream: "127.0.0.1:1", EdgePort: 10200}
	tb.Put(web.HostLabel, web)

	if r, ok := tb.ByLabel("demo-1a2b3c4d-web"); !ok || r.Upstream != "127.0.0.1:1" {
		t.Fatalf("ByLabel = %+v, %v", r, ok)
	}
	if r, ok := tb.ByPort(10200); !ok || r.HostLabel != web.HostLabel {
		t.Fatalf("ByPort(10200) = %+v, %v", r, ok)
	}

	// Moving the route to another edge port frees the old one.
	web.EdgePort = 10201
	tb.Put(web.HostLabel, web)
	if _, ok := tb.ByPort(10200); ok {
		t.Error("old edge port 10200 still routed")
	}
	if _, ok := tb.ByPort(10201); !ok {
		t.Error("new edge port 10201 not routed")
	}

	tb.Remove(web.HostLabel)
	if _, ok := tb.ByLabel(web.HostLabel); ok {
		t.Error("removed route still there")
	}
	if _, ok := tb.ByPort(10201); ok {
		t.Error("removed route's port still routed")
	}

	tb.Replace(map[string]api.Route{
		"a-00000000-x": {HostLabel: "a-00000000-x", EdgePort: 10205},
		"b-11111111-y": {HostLabel: "b-11111111-y"},
	})
	if tb.Len() != 2 {
		t.Errorf("Len = %d after Replace, want 2", tb.Len())
	}
	if r, ok := tb.ByPort(10205); !ok || r.HostLabel != "a-00000000-x" {
		t.Errorf("ByPort(10205) = %+v, %v", r, ok)
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in      string
		want    PortRange
		wantErr bool
	}{
		{"10200-10299", PortRange{10200, 10299}, false},
		{"10200", PortRange{10200, 10200}, false},
		{"", PortRange{}, false},
		{"off", PortRange{}, false},
		{"10299-10200", PortRange{}, true},
		{"0-10", PortRange{}, true},
		{"1-70000", PortRange{}, true},
		{"a-b", PortRange{}, true},
	}
	for _, tc := range tests {
		got, err := ParsePortRange(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParsePortRange(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	r := PortRange{10200, 10299}
	for p, want := range map[int]bool{10199: false, 10200: true, 10250: true, 10299: true, 10300: false} {
		if r.Contains(p) != want {
			t.Errorf("Contains(%d) = %v", p, !want)
		}
	}
	if (PortRange{}).Contains(0) {
		t.Error("empty range contains 0")
	}
}
