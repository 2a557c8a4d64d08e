package api

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseServicePorts(t *testing.T) {
	tests := []struct {
		in      string
		want    []ServicePort
		wantErr string
	}{
		{"", nil, ""},
		{"jupyter:http:8888", []ServicePort{{"jupyter", "http", 8888}}, ""},
		{" web:HTTP:8080, ssh:tcp:22 ", []ServicePort{{"web", "http", 8080}, {"ssh", "tcp", 22}}, ""},
		{"web:http", nil, "want name:protocol:port"},
		{"web:http:0", nil, "bad port"},
		{"web:http:70000", nil, "bad port"},
		{"Web:http:80", nil, "app name"},
		{"a-b:http:80", nil, "app name"},
		{"web:http:80,web:http:81", nil, "declared twice"},
	}
	for _, tt := range tests {
		got, err := ParseServicePorts(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseServicePorts(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseServicePorts(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if tt.want != nil {
			again, _ := ParseServicePorts(FormatServicePorts(got))
			if !reflect.DeepEqual(again, got) {
				t.Errorf("format/parse round trip of %v gave %v", got, again)
			}
		}
	}
}

func TestHostLabel(t *testing.T) {
	id := "02092c66-7244-4fbc-a27d-0e1ea5c7704b"
	tests := []struct{ name, app, label string }{
		{"demo", "web", "demo-02092c66-web"},
		{"my-long-session", "jupyter", "my-long-session-02092c66-jupyter"},
		{"a", "x1", "a-02092c66-x1"},
	}
	for _, tt := range tests {
		label := HostLabel(tt.name, id, tt.app)
		if label != tt.label {
			t.Errorf("HostLabel(%q, %q) = %q, want %q", tt.name, tt.app, label, tt.label)
		}
		if len(label) > 63 {
			t.Errorf("label %q is longer than a DNS label", label)
		}
		name, short, app, err := ParseHostLabel(label)
		if err != nil || name != tt.name || short != "02092c66" || app != tt.app {
			t.Errorf("ParseHostLabel(%q) = %q %q %q %v", label, name, short, app, err)
		}
	}
	for _, bad := range []string{"", "web", "demo-web", "demo-123-web", "-02092c66-web"} {
		if _, _, _, err := ParseHostLabel(bad); err == nil {
			t.Errorf("ParseHostLabel(%q) accepted", bad)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"demo", "a", "s-1a2b3c", "x9", strings.Repeat("a", 40)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a--b", "a_b", "a.b", strings.Repeat("a", 41)} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("ValidateName(%q) accepted", bad)
		}
	}
}

func TestResources(t *testing.T) {
	r := Resources{CPU: 1.5, Mem: 1 << 30, GPU: 1}
	free := Resources{CPU: 2, Mem: 2 << 30, GPU: 1}
	if !r.Fits(free) {
		t.Errorf("%v should fit %v", r, free)
	}
	if r.Fits(free.Sub(Resources{GPU: 1})) {
		t.Errorf("GPU shortage not noticed")
	}
	if got := free.Sub(r).Add(r); got != free {
		t.Errorf("sub/add round trip = %v, want %v", got, free)
	}
	if (Resources{CPU: 0.1}).CPUMilli() != 100 || (Resources{CPU: 0.3}).Add(Resources{CPU: 0.6}).CPUMilli() != 900 {
		t.Errorf("milli-CPU arithmetic is off")
	}
	for _, s := range []SessionStatus{StatusTerminated, StatusCancelled, StatusError} {
		if !s.Terminal() {
			t.Errorf("%s not terminal", s)
		}
	}
	if StatusRunning.Terminal() || !TypeBatch.Valid() || SessionType("x").Valid() {
		t.Errorf("status/type predicates are off")
	}
}
