package abi

import (
	"errors"
	"reflect"
	"testing"
)

func sampleBatch() *Batch {
	return &Batch{
		Config: "sequencer=drf,selector=dispersed",
		Now:    1_700_000_000_123,
		Cursor: 3,
		Sessions: []Session{
			{Index: 0, Priority: 10, Owner: 1, CreatedAt: 1_700_000_000_000, Request: Resources{500, 256 << 20, 0}},
			{Index: 1, Priority: -2, Owner: 0, CreatedAt: 1_600_000_000_000, Request: Resources{4000, 8 << 30, 1}},
		},
		Agents: []Agent{
			{Index: 0, Sessions: 2, Capacity: Resources{16000, 64 << 30, 2}, Used: Resources{1000, 1 << 30, 1}},
		},
		Owners: []Resources{{}, {CPUMilli: 2000, Mem: 3 << 30}},
		Total:  Resources{16000, 64 << 30, 2},
	}
}

func TestBatchRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		b    *Batch
	}{
		{"sample", sampleBatch()},
		{"empty", &Batch{Sessions: []Session{}, Agents: []Agent{}, Owners: []Resources{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := EncodeBatch(tt.b)
			if len(buf) != BatchSize(tt.b) {
				t.Fatalf("len %d, BatchSize %d", len(buf), BatchSize(tt.b))
			}
			got, err := DecodeBatch(buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.b) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.b)
			}
		})
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	good := EncodeBatch(sampleBatch())
	badMagic := append([]byte(nil), good...)
	badMagic[0] = 'X'
	badVersion := append([]byte(nil), good...)
	badVersion[4] = 9
	tests := []struct {
		name string
		buf  []byte
	}{
		{"short", good[:10]},
		{"bad magic", badMagic},
		{"bad version", badVersion},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(append([]byte(nil), good...), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeBatch(tt.buf); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestDecisionRoundTrip(t *testing.T) {
	d := &Decision{Picks: []Pick{{1, 0}, {0, 7}}, Cursor: 5}
	got, err := DecodeDecision(EncodeDecision(d))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Fatalf("got %+v want %+v", got, d)
	}
}

func TestDecodeDecisionErrors(t *testing.T) {
	good := EncodeDecision(&Decision{Picks: []Pick{{1, 0}}})
	tests := []struct {
		name string
		buf  []byte
	}{
		{"empty", nil},
		{"bad magic", []byte("garbage-garbage-garbage")},
		{"count too large", good[:len(good)-4]},
		{"header only of error", EncodeError("boom")[:6]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeDecision(tt.buf); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestGuestError(t *testing.T) {
	_, err := DecodeDecision(EncodeError("unknown selector \"x\""))
	var ge *GuestError
	if !errors.As(err, &ge) || ge.Message != `unknown selector "x"` {
		t.Fatalf("got %v", err)
	}
}
