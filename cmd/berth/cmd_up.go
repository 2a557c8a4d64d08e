package main

import (
	"context"
	"errors"
)

// runUp runs `berth up` (stub: replaced by the up work).
func runUp(ctx context.Context, args []string) error {
	return errors.New("berth up: not implemented yet")
}
