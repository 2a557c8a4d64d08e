package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
)

// userCommands are `berth user ...`.
func userCommands() []cliCommand {
	return []cliCommand{
		{
			name:     "user create",
			synopsis: "user create EMAIL --password P [--role user|admin]",
			about:    "Create an account with a new keypair (admin).",
			run:      runUserCreate,
		},
		{name: "user ls", synopsis: "user ls", about: "List the accounts (admin).", run: runUserLs},
		{
			name:     "user policy",
			synopsis: "user policy EMAIL [--max-cpu C] [--max-mem M] [--max-gpu G] [--max-concurrent N] [--max-pending N] [--name P]",
			about: "Show a user's resource limits, or change the ones given (\"unlimited\" lifts one; admin). " +
				"Sessions over a limit stay PENDING with the reason.",
			run: runUserPolicy,
		},
	}
}

// runUserCreate runs `berth user create`.
func runUserCreate(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	password := f.fs.String("password", "", "password (required)")
	role := f.fs.String("role", api.RoleUser, "user or admin")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(1, 1, "EMAIL"); err != nil {
		return err
	}
	if *password == "" {
		return f.usageErr("--password is required")
	}
	if *role != api.RoleUser && *role != api.RoleAdmin {
		return f.usageErr("--role %q: want user or admin", *role)
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	u, err := cl.CreateUser(ctx, api.CreateUserRequest{Email: f.args[0], Password: *password, Role: *role})
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, u)
	}
	fmt.Fprintf(c.stdout, "Created %s %s\n", u.Role, u.Email)
	t := newCLITable(c.stdout)
	t.row("ID:", u.ID)
	t.row("Access key:", u.AccessKey)
	t.row("Secret key:", u.SecretKey)
	return t.flush()
}

// runUserLs runs `berth user ls`.
func runUserLs(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	return listing(ctx, c, f, args, (*client.Client).ListUsers, func(us []api.User) error {
		t := newCLITable(c.stdout, "EMAIL", "ROLE", "ID", "ACCESS_KEY", "CREATED")
		for _, u := range us {
			t.row(u.Email, u.Role, u.ID, u.AccessKey, humanTime(u.CreatedAt))
		}
		return t.flush()
	})
}

// runUserPolicy runs `berth user policy`.
func runUserPolicy(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	// Only the flags given are changed (found with Visit after parsing).
	f.fs.String("max-cpu", "", "total CPU cores of the user's running sessions")
	f.fs.String("max-mem", "", "total memory, e.g. 8g")
	f.fs.String("max-gpu", "", "total GPUs")
	f.fs.String("max-concurrent", "", "sessions placed at once")
	f.fs.String("max-pending", "", "sessions waiting at once")
	name := f.fs.String("name", "", "change this shared resource policy and assign it (default: the user's own, user:EMAIL)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(1, 1, "EMAIL"); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	p, err := cl.UserPolicy(ctx, f.args[0])
	if err != nil {
		return err
	}
	changed := false
	var perr error
	f.fs.Visit(func(fl *flag.Flag) {
		if perr != nil {
			return
		}
		v := fl.Value.String()
		unlimited := v == "unlimited" || v == "none"
		switch fl.Name {
		case "max-cpu":
			p.MaxCPU, perr = optFloat(v, unlimited)
		case "max-mem":
			p.MaxMem, perr = optMem(v, unlimited)
		case "max-gpu":
			p.MaxGPU, perr = optInt(v, unlimited)
		case "max-concurrent":
			p.MaxConcurrentSessions, perr = optInt(v, unlimited)
		case "max-pending":
			p.MaxPendingSessions, perr = optInt(v, unlimited)
		default:
			return
		}
		if perr != nil {
			perr = f.usageErr("--%s %q: %v", fl.Name, v, perr)
		}
		changed = true
	})
	if perr != nil {
		return perr
	}
	if changed {
		// Never change the shared policy the user happens to have unless
		// asked: the change goes to the user's own policy.
		p.Name = *name
		if p, err = cl.SetUserPolicy(ctx, f.args[0], p); err != nil {
			return err
		}
	}
	if f.json {
		return printJSON(c.stdout, p)
	}
	limit := func(set bool, s string) string {
		if !set {
			return "unlimited"
		}
		return s
	}
	t := newCLITable(c.stdout)
	t.row("Policy:", p.Name)
	t.row("Max CPU:", limit(p.MaxCPU != nil, func() string { return humanCPU(deref(p.MaxCPU)) }()))
	t.row("Max memory:", limit(p.MaxMem != nil, func() string { return humanBytes(deref(p.MaxMem)) }()))
	t.row("Max GPU:", limit(p.MaxGPU != nil, func() string { return strconv.Itoa(deref(p.MaxGPU)) }()))
	t.row("Max concurrent:", limit(p.MaxConcurrentSessions != nil, func() string { return strconv.Itoa(deref(p.MaxConcurrentSessions)) }()))
	t.row("Max pending:", limit(p.MaxPendingSessions != nil, func() string { return strconv.Itoa(deref(p.MaxPendingSessions)) }()))
	return t.flush()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func optFloat(v string, unlimited bool) (*float64, error) {
	if unlimited {
		return nil, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 0 {
		return nil, fmt.Errorf("want a number of cores or unlimited")
	}
	return &x, nil
}

func optInt(v string, unlimited bool) (*int, error) {
	if unlimited {
		return nil, nil
	}
	x, err := strconv.Atoi(v)
	if err != nil || x < 0 {
		return nil, fmt.Errorf("want a whole number or unlimited")
	}
	return &x, nil
}

func optMem(v string, unlimited bool) (*int64, error) {
	if unlimited {
		return nil, nil
	}
	x, err := parseMemSize(v)
	if err != nil {
		return nil, err
	}
	return &x, nil
}
