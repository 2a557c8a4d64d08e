package main

import (
	"reflect"
	"testing"

	"github.com/berth-dev/berth/policies/abi"
)

func TestDecide(t *testing.T) {
	cpu := func(c int64) abi.Resources { return abi.Resources{CPUMilli: c * 1000, Mem: 1 << 30} }
	b := &abi.Batch{
		Agents: []abi.Agent{
			{Index: 0, Sessions: 3, Capacity: abi.Resources{CPUMilli: 8000, Mem: 8 << 30}},
			{Index: 1, Sessions: 1, Capacity: abi.Resources{CPUMilli: 2000, Mem: 8 << 30}},
		},
		Sessions: []abi.Session{
			{Index: 0, CreatedAt: 1, Request: cpu(1)},
			{Index: 1, CreatedAt: 2, Request: cpu(1)},
			{Index: 2, CreatedAt: 3, Priority: 5, Request: cpu(4)},
		},
	}
	d, err := decide(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []abi.Pick{{Session: 2, Agent: 0}, {Session: 0, Agent: 1}, {Session: 1, Agent: 1}}
	if !reflect.DeepEqual(d.Picks, want) {
		t.Fatalf("picks %v, want %v", d.Picks, want)
	}
}
