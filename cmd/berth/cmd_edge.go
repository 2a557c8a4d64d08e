package main

import (
	"context"
	"errors"
)

// runEdge runs `berth edge` (stub: replaced by the edge work).
func runEdge(ctx context.Context, args []string) error {
	return errors.New("berth edge: not implemented yet")
}
