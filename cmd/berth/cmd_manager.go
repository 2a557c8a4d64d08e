package main

import (
	"context"
	"errors"
)

// runManager runs `berth manager` (stub: replaced by the manager work).
func runManager(ctx context.Context, args []string) error {
	return errors.New("berth manager: not implemented yet")
}
