package main

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/api"
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
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(0, 0, ""); err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	us, err := cl.ListUsers(ctx)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, us)
	}
	t := newCLITable(c.stdout, "EMAIL", "ROLE", "ID", "ACCESS_KEY", "CREATED")
	for _, u := range us {
		t.row(u.Email, u.Role, u.ID, u.AccessKey, humanTime(u.CreatedAt))
	}
	return t.flush()
}
