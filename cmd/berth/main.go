// Command berth is Berth's one binary: the CLI, and each component of the
// platform as a subcommand (up, edge, manager, agent).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/api/client"
)

// cliVersion is the release version, set with
// -ldflags "-X main.cliVersion=v1.2.3"; empty means the module version.
var cliVersion string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the berth command line args (without the program name) and
// returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return c.run(ctx, args)
}

// cli is one invocation of the CLI: where it reads and writes, and its
// environment.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// poll overrides how often --wait polls (0: the client's default).
	poll time.Duration
}

// cliCommand is one CLI command, e.g. "session create".
type cliCommand struct {
	name     string
	synopsis string
	about    string
	// run parses args with f (after declaring its own flags) and runs.
	run func(ctx context.Context, c *cli, f *cmdFlags, args []string) error
}

// cliCommands lists every CLI command, in help order.
func cliCommands() []cliCommand {
	var cmds []cliCommand
	for _, g := range [][]cliCommand{loginCommands(), sessionCommands(), policyCommands(), folderCommands(), groupCommands(), userCommands(), agentCommands()} {
		cmds = append(cmds, g...)
	}
	return cmds
}

// run dispatches args and turns the outcome into an exit status.
func (c *cli) run(ctx context.Context, args []string) int {
	args = hoistGlobalFlags(args)
	if len(args) == 0 {
		fmt.Fprint(c.stderr, c.usage())
		return 2
	}
	switch args[0] {
	case "up", "manager", "agent", "edge":
		if isComponent(args) {
			return c.runComponent(ctx, args[0], args[1:])
		}
	case "help", "-h", "-help", "--help":
		return c.help(args[1:])
	case "version", "--version":
		return c.finish(c.version(args[1:]))
	}
	cmd, rest, err := findCommand(args)
	if err != nil {
		return c.finish(err)
	}
	return c.finish(cmd.run(ctx, c, newCmdFlags(cmd.name, "berth "+cmd.synopsis, cmd.about), rest))
}

// hoistGlobalFlags moves the flags every command takes (--json,
// --endpoint, --access-key, --secret-key) from before the command to its
// end, so `berth --json session ls` works.
func hoistGlobalFlags(args []string) []string {
	var globals []string
	i := 0
	for i < len(args) {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") {
			break
		}
		switch name {
		case "json":
			globals = append(globals, args[i])
			i++
			continue
		case "endpoint", "access-key", "secret-key":
			if hasValue {
				globals = append(globals, args[i])
				i++
				continue
			}
			if i+1 < len(args) {
				globals = append(globals, args[i], args[i+1])
				i += 2
				continue
			}
		}
		break
	}
	if len(globals) == 0 || i == len(args) {
		return args
	}
	if isComponent(args[i:]) {
		return args // components take their own flags
	}
	out := append([]string{}, args[i:]...)
	// Insert before a "--" so the flags are not taken as a command's words.
	for j, a := range out {
		if a == "--" {
			return append(append(out[:j:j], globals...), out[j:]...)
		}
	}
	return append(out, globals...)
}

// isComponent reports whether args run one of the platform's components
// (`berth agent ls` is the CLI; plain `berth agent` runs the agent).
func isComponent(args []string) bool {
	switch args[0] {
	case "up", "manager", "edge":
		return true
	case "agent":
		return len(args) < 2 || args[1] != "ls"
	}
	return false
}

// runComponent runs one of the platform's components.
func (c *cli) runComponent(ctx context.Context, name string, args []string) int {
	var err error
	switch name {
	case "up":
		err = runUp(ctx, args)
	case "manager":
		err = runManager(ctx, args)
	case "agent":
		err = runAgent(ctx, args)
	case "edge":
		err = runEdge(ctx, args)
	}
	if err != nil {
		fmt.Fprintln(c.stderr, "berth:", err)
		return 1
	}
	return 0
}

// findCommand finds the command args name ("session create", "login") and
// returns it with its own arguments.
func findCommand(args []string) (cliCommand, []string, error) {
	cmds := cliCommands()
	if len(args) >= 2 {
		for _, cmd := range cmds {
			if cmd.name == args[0]+" "+args[1] {
				return cmd, args[2:], nil
			}
		}
	}
	for _, cmd := range cmds {
		if cmd.name == args[0] {
			return cmd, args[1:], nil
		}
	}
	var subs []string
	for _, cmd := range cmds {
		if g, sub, ok := strings.Cut(cmd.name, " "); ok && g == args[0] {
			subs = append(subs, sub)
		}
	}
	if len(subs) == 0 {
		return cliCommand{}, nil, &usageError{msg: fmt.Sprintf("unknown command %q", args[0])}
	}
	if len(args) == 1 {
		return cliCommand{}, nil, &usageError{cmd: args[0], msg: "missing subcommand: " + strings.Join(subs, ", ")}
	}
	if h := args[1]; h == "-h" || h == "-help" || h == "--help" || h == "help" {
		return cliCommand{}, nil, &helpRequest{text: groupUsage(cmds, args[0])}
	}
	return cliCommand{}, nil, &usageError{cmd: args[0], msg: fmt.Sprintf("unknown subcommand %q (want %s)", args[1], strings.Join(subs, ", "))}
}

// finish prints err the CLI way and returns the exit status: 0 on success
// or help, the remote code for exitCode, 2 for usage errors, 130 when
// interrupted, else 1. Errors are one line on stderr: "berth: <message>".
func (c *cli) finish(err error) int {
	var (
		help  *helpRequest
		code  *exitCode
		usage *usageError
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		fmt.Fprint(c.stdout, help.text)
		return 0
	case errors.As(err, &code):
		return code.code
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(c.stderr, "berth: interrupted")
		return 130
	}
	fmt.Fprintln(c.stderr, "berth: "+oneLine(err.Error()))
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// oneLine joins a multi-line message into one line.
func oneLine(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// client makes an API client from the command's credentials.
func (c *cli) client(f *cmdFlags) (*client.Client, error) {
	cr, err := resolveCreds(cliCreds{Endpoint: f.endpoint, AccessKey: f.accessKey, SecretKey: f.secretKey}, c.getenv)
	if err != nil {
		return nil, err
	}
	opts := []client.Option{client.WithUserAgent("berth-cli/" + versionString())}
	if c.poll > 0 {
		opts = append(opts, client.WithPollInterval(c.poll))
	}
	return client.New(cr.Endpoint, cr.AccessKey, cr.SecretKey, opts...), nil
}

// version prints the version.
func (c *cli) version(args []string) error {
	f := newCmdFlags("version", "berth version [--json]", "Print the version of berth.")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, map[string]string{"version": versionString()})
	}
	fmt.Fprintln(c.stdout, "berth", versionString())
	return nil
}

// versionString is cliVersion, else the module version, else "devel".
func versionString() string {
	if cliVersion != "" {
		return cliVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// help prints the usage of berth, of a command group or of one command.
func (c *cli) help(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stdout, c.usage())
		return 0
	}
	cmd, _, err := findCommand(args)
	if err != nil {
		var usage *usageError
		if errors.As(err, &usage) && len(args) == 1 {
			if text := groupUsage(cliCommands(), args[0]); text != "" {
				fmt.Fprint(c.stdout, text)
				return 0
			}
		}
		return c.finish(err)
	}
	return c.finish(cmd.run(context.Background(), c, newCmdFlags(cmd.name, "berth "+cmd.synopsis, cmd.about), []string{"-h"}))
}

// usage is the top-level help text.
func (c *cli) usage() string {
	var b strings.Builder
	b.WriteString(`berth: compute sessions on Podman agents, behind one edge.

usage: berth <command> [flags] [args]

Platform:
  up                        run the local stack (PostgreSQL, Valkey, manager, agent, edge)
  manager | agent | edge    run one component

Commands:
`)
	t := newCLITable(&b)
	for _, cmd := range cliCommands() {
		t.row("  "+cmd.name, firstLine(cmd.about))
	}
	t.row("  version", "print the version")
	t.row("  help [COMMAND]", "show help")
	t.flush()
	b.WriteString(`
Every command takes --json (machine-readable output on stdout), --endpoint,
--access-key and --secret-key. Credentials come from the flags, else
BERTH_ENDPOINT, BERTH_ACCESS_KEY and BERTH_SECRET_KEY, else the config file
that 'berth login' writes ($BERTH_CONFIG, or $XDG_CONFIG_HOME/berth/config.json,
or ~/.config/berth/config.json). Run 'berth COMMAND -h' for a command's flags.
`)
	return b.String()
}

// groupUsage lists the commands of group, or "" if there are none.
func groupUsage(cmds []cliCommand, group string) string {
	var b strings.Builder
	for _, cmd := range cmds {
		if g, _, _ := strings.Cut(cmd.name, " "); g == group {
			fmt.Fprintf(&b, "  berth %s\n        %s\n", cmd.synopsis, firstLine(cmd.about))
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return "usage:\n" + b.String()
}

// firstLine is the first line of s.
func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
