package main

import (
	"context"
	"errors"
)

// runAgent runs `berth agent` (stub: replaced by the agent work).
func runAgent(ctx context.Context, args []string) error {
	return errors.New("berth agent: not implemented yet")
}
