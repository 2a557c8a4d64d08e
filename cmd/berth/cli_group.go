package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
)

// groupCommands are `berth group ...`.
func groupCommands() []cliCommand {
	return []cliCommand{
		{name: "group create", synopsis: "group create G [--description D]", about: "Create a resource group (admin).", run: runGroupCreate},
		{name: "group ls", synopsis: "group ls", about: "List the resource groups.", run: runGroupLs},
	}
}

// runGroupCreate runs `berth group create`.
func runGroupCreate(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	desc := f.fs.String("description", "", "what the group is for")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(1, 1, "group name"); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	g, err := cl.CreateGroup(ctx, api.CreateGroupRequest{Name: f.args[0], Description: *desc})
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, g)
	}
	fmt.Fprintf(c.stdout, "Created group %s (policy %s)\n", g.Name, firstNonEmpty(g.Policy, "-"))
	return nil
}

// runGroupLs runs `berth group ls`.
func runGroupLs(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	return listing(ctx, c, f, args, (*client.Client).ListGroups, func(gs []api.Group) error {
		now := time.Now()
		t := newCLITable(c.stdout, "NAME", "POLICY", "FALLBACK", "AGENTS", "AGE", "DESCRIPTION", "NOTE")
		for _, g := range gs {
			t.row(g.Name, g.Policy, g.FallbackPolicy, strconv.Itoa(g.Agents), humanAge(g.CreatedAt, now), g.Description, g.PolicyNote)
		}
		return t.flush()
	})
}
