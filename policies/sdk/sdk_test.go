package sdk

import (
	"errors"
	"strings"
	"testing"

	"github.com/berth-dev/berth/policies/abi"
)

func TestHandle(t *testing.T) {
	in := abi.EncodeBatch(&abi.Batch{Cursor: 4, Sessions: []abi.Session{{}}, Agents: []abi.Agent{{}}})
	tests := []struct {
		name    string
		fn      Func
		in      []byte
		want    *abi.Decision
		wantErr string
	}{
		{"decision", func(b *abi.Batch) (*abi.Decision, error) {
			return &abi.Decision{Picks: []abi.Pick{{Session: 0, Agent: 0}}, Cursor: b.Cursor + 1}, nil
		}, in, &abi.Decision{Picks: []abi.Pick{{Session: 0, Agent: 0}}, Cursor: 5}, ""},
		{"nil decision keeps cursor", func(*abi.Batch) (*abi.Decision, error) { return nil, nil }, in, &abi.Decision{Picks: []abi.Pick{}, Cursor: 4}, ""},
		{"error", func(*abi.Batch) (*abi.Decision, error) { return nil, errors.New("nope") }, in, nil, "nope"},
		{"panic", func(*abi.Batch) (*abi.Decision, error) { panic("boom") }, in, nil, "policy panicked: boom"},
		{"bad batch", func(*abi.Batch) (*abi.Decision, error) { return nil, nil }, []byte("junk"), nil, "decoding batch"},
		{"none registered", nil, in, nil, "no policy registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			Register(tt.fn)
			d, err := abi.DecodeDecision(Handle(tt.in))
			if tt.wantErr != "" {
				var ge *abi.GuestError
				if !errors.As(err, &ge) || !strings.Contains(ge.Message, tt.wantErr) {
					t.Fatalf("got %v, want guest error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Cursor != tt.want.Cursor || len(d.Picks) != len(tt.want.Picks) {
				t.Fatalf("got %+v want %+v", d, tt.want)
			}
		})
	}
}
