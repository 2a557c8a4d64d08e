package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
)

// policyCommands are `berth policy ...`.
func policyCommands() []cliCommand {
	return []cliCommand{
		{
			name:     "policy upload",
			synopsis: "policy upload FILE.wasm --name N --kind scheduler|auth",
			about:    "Validate and store a Wasm policy (admin). --name defaults to the file name.",
			run:      runPolicyUpload,
		},
		{name: "policy ls", synopsis: "policy ls", about: "List the stored policies.", run: runPolicyLs},
		{
			name:     "policy activate",
			synopsis: "policy activate N --group G",
			about:    "Make policy N the active one of resource group G (admin).",
			run:      runPolicyActivate,
		},
		{
			name:     "policy dryrun",
			synopsis: "policy dryrun N --group G",
			about:    "Run policy N once on group G's live state without committing (admin).",
			run:      runPolicyDryRun,
		},
	}
}

// runPolicyUpload runs `berth policy upload`.
func runPolicyUpload(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	name := f.fs.String("name", "", "policy name (default: the file name without .wasm)")
	kind := f.fs.String("kind", api.PolicyScheduler, "scheduler or auth")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(1, 1, "FILE.wasm"); err != nil {
		return err
	}
	if *kind != api.PolicyScheduler && *kind != api.PolicyAuth {
		return f.usageErr("--kind %q: want scheduler or auth", *kind)
	}
	file := f.args[0]
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(file), ".wasm")
	}
	wasm, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading policy: %w", err)
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	p, err := cl.UploadPolicy(ctx, *name, *kind, wasm)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, p)
	}
	fmt.Fprintf(c.stdout, "Stored %s policy %s version %d (%s, sha256 %s)\n",
		p.Kind, p.Name, p.Version, humanBytes(int64(p.Size)), truncateText(p.Hash, 13))
	return nil
}

// runPolicyLs runs `berth policy ls`.
func runPolicyLs(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	return listing(ctx, c, f, args, (*client.Client).ListPolicies, func(ps []api.Policy) error {
		t := newCLITable(c.stdout, "NAME", "KIND", "VERSION", "SIZE", "SHA256", "BUILTIN", "ACTIVE_IN", "NOTE")
		for _, p := range ps {
			builtin := ""
			if p.Builtin {
				builtin = "yes"
			}
			t.row(p.Name, p.Kind, strconv.Itoa(p.Version), humanBytes(int64(p.Size)), truncateText(p.Hash, 13),
				builtin, strings.Join(p.Groups, ","), p.Note)
		}
		return t.flush()
	})
}

// policyGroup parses `N --group G`.
func policyGroup(f *cmdFlags, args []string) (name, group string, err error) {
	g := f.fs.String("group", "default", "resource group")
	if err := f.parse(args); err != nil {
		return "", "", err
	}
	if err := f.nargs(1, 1, "policy name"); err != nil {
		return "", "", err
	}
	if *g == "" {
		return "", "", f.usageErr("--group must not be empty")
	}
	return f.args[0], *g, nil
}

// runPolicyActivate runs `berth policy activate`.
func runPolicyActivate(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	name, group, err := policyGroup(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	g, err := cl.ActivatePolicy(ctx, name, group)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, g)
	}
	fmt.Fprintf(c.stdout, "Policy %s is active in group %s\n", firstNonEmpty(g.Policy, name), firstNonEmpty(g.Name, group))
	return nil
}

// runPolicyDryRun runs `berth policy dryrun`.
func runPolicyDryRun(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	name, group, err := policyGroup(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	res, err := cl.DryRun(ctx, name, group)
	if err != nil {
		return err
	}
	if f.json {
		if len(res.Raw) > 0 {
			err = printRawJSON(c.stdout, res.Raw)
		} else {
			err = printJSON(c.stdout, res)
		}
		if err != nil {
			return err
		}
	}
	if res.Error != "" {
		return fmt.Errorf("policy %s failed on group %s: %s", firstNonEmpty(res.Policy, name), group, res.Error)
	}
	if f.json {
		return nil
	}
	decide := time.Duration(res.DecideMS * float64(time.Millisecond))
	fmt.Fprintf(c.stdout, "Policy %s on group %s: %d placed, %d waiting, decided in %s\n",
		firstNonEmpty(res.Policy, name), group, len(res.Placements), len(res.Waiting), decide)
	if len(res.Placements) > 0 {
		fmt.Fprintln(c.stdout, "\nPlacements:")
		t := newCLITable(c.stdout, "  SESSION", "AGENT", "CPU", "MEM", "GPU")
		for _, p := range res.Placements {
			t.row("  "+p.SessionID, p.AgentID, humanCPU(p.Request.CPU), humanBytes(p.Request.Mem), strconv.Itoa(p.Request.GPU))
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(res.Waiting) > 0 {
		fmt.Fprintln(c.stdout, "\nWaiting:")
		t := newCLITable(c.stdout, "  SESSION", "REASON")
		ids := make([]string, 0, len(res.Waiting))
		for id := range res.Waiting {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			t.row("  "+id, res.Waiting[id])
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if len(res.Dropped) > 0 {
		fmt.Fprintln(c.stdout, "\nDropped by the re-check:")
		t := newCLITable(c.stdout, "  SESSION", "AGENT", "REASON")
		for _, d := range res.Dropped {
			t.row("  "+d.SessionID, d.AgentID, d.Reason)
		}
		return t.flush()
	}
	return nil
}
