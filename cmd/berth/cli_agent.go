package main

import (
	"context"
	"fmt"
	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
	"strconv"
	"time"
)

// agentCommands are `berth agent ls` (plain `berth agent` runs the agent).
func agentCommands() []cliCommand {
	return []cliCommand{
		{name: "agent ls", synopsis: "agent ls", about: "List the agents with capacity, usage and state.", run: runAgentLs},
	}
}

// runAgentLs runs `berth agent ls`.
func runAgentLs(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	return listing(ctx, c, f, args, (*client.Client).ListAgents, func(as []api.Agent) error {
		now := time.Now()
		t := newCLITable(c.stdout, "ID", "GROUP", "STATUS", "ADDRESS", "CPU", "MEM", "GPU", "SESSIONS", "LAST_SEEN", "GPU_INFO")
		for _, a := range as {
			t.row(a.ID, a.Group, a.Status, a.Address,
				humanCPU(a.Used.CPU)+"/"+humanCPU(a.Capacity.CPU),
				humanBytes(a.Used.Mem)+"/"+humanBytes(a.Capacity.Mem),
				fmt.Sprintf("%d/%d", a.Used.GPU, a.Capacity.GPU),
				strconv.Itoa(a.Sessions),
				humanAge(a.LastSeen, now)+" ago",
				a.GPUInfo)
		}
		return t.flush()
	})
}
