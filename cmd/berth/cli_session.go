package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/api"
	"github.com/berth-dev/berth/api/client"
)

// sessionCommands are `berth session ...`.
func sessionCommands() []cliCommand {
	return []cliCommand{
		{
			name: "session create",
			synopsis: "session create --image IMG [--name N] [--type interactive|batch|inference] [--group G]\n" +
				"             [--cpu C] [--mem M] [--gpu G] [--env K=V]... [--mount FOLDER[:PATH]]... [--priority P]\n" +
				"             [--starts-at TIME|DURATION] [--depends-on S]... [--wait] [-- CMD ARGS...]",
			about: "Enqueue a session; a trailing command after -- is its startup command.\n" +
				"--starts-at reserves a start time for a batch session (RFC 3339, or a delay such as 10m);\n" +
				"--depends-on waits until session S ended with SUCCESS (cancelled if S fails).\n" +
				"With --wait, follow it until it runs (batch sessions: until it ends), printing each status\n" +
				"change on stderr; exit non-zero if it ends in ERROR or CANCELLED.",
			run: runSessionCreate,
		},
		{name: "session ls", synopsis: "session ls [--all]", about: "List your sessions (admins: everyone's).", run: runSessionLs},
		{name: "session info", synopsis: "session info S", about: "Show a session with its status history.", run: runSessionInfo},
		{name: "session rm", synopsis: "session rm S [--wait]", about: "Terminate a session (cancel it if still pending).", run: runSessionRm},
		{name: "session logs", synopsis: "session logs S", about: "Print the container's output.", run: runSessionLogs},
		{
			name:     "session exec",
			synopsis: "session exec S [--timeout SECONDS] -- CMD [ARGS...]",
			about:    "Run a command in a session; print its output and exit with its exit code.",
			run:      runSessionExec,
		},
		{name: "session apps", synopsis: "session apps S", about: "List the session's apps with their URLs.", run: runSessionApps},
	}
}

// runSessionCreate runs `berth session create`.
func runSessionCreate(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	var env, mounts, deps cliStringList
	image := f.fs.String("image", "", "container image (required)")
	name := f.fs.String("name", "", "session name (default: generated)")
	typ := f.fs.String("type", "", "interactive, batch or inference (default interactive)")
	group := f.fs.String("group", "", "resource group (default \"default\")")
	cpu := f.fs.String("cpu", "", "CPU cores, e.g. 0.5 or 2")
	mem := f.fs.String("mem", "", "memory: bytes, or 512m, 1g, 1.5G")
	gpu := f.fs.String("gpu", "", "whole GPUs")
	priority := f.fs.Int("priority", 0, "scheduling priority (higher first)")
	f.fs.Var(&env, "env", "environment variable K=V (repeatable)")
	f.fs.Var(&mounts, "mount", "storage folder to mount, FOLDER[:PATH] (repeatable)")
	startsAt := f.fs.String("starts-at", "", "batch sessions: reserved start, RFC 3339 time or a delay like 10m")
	f.fs.Var(&deps, "depends-on", "session (ID, prefix or name) that must end with SUCCESS first (repeatable)")
	wait := f.fs.Bool("wait", false, "wait until the session runs (batch: ends)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(0, 0, ""); err != nil {
		return err
	}
	req, err := sessionRequest(f, *image, *name, *typ, *group, *cpu, *mem, *gpu, env, mounts)
	if err != nil {
		return err
	}
	req.Priority = *priority
	if *startsAt != "" {
		t, err := parseStartsAt(*startsAt, time.Now())
		if err != nil {
			return f.usageErr("--starts-at: %v", err)
		}
		req.StartsAt = &t
	}
	for _, d := range deps {
		if strings.TrimSpace(d) == "" {
			return f.usageErr("--depends-on must not be empty")
		}
	}
	req.DependsOn = deps
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	s, err := cl.CreateSession(ctx, req)
	if err != nil {
		return err
	}
	if !*wait {
		if f.json {
			return printJSON(c.stdout, s)
		}
		fmt.Fprintln(c.stdout, describeSession(s))
		return nil
	}
	var progress *statusPrinter
	if !f.json {
		progress = &statusPrinter{w: c.stderr}
		progress.print(s)
	}
	until := func(s api.Session) bool { return s.Status == api.StatusRunning }
	if s.Type == api.TypeBatch {
		until = nil // until it ends
	}
	final, err := cl.WaitSession(ctx, s.ID, until, progress.print)
	if err != nil {
		return err
	}
	if f.json {
		if err := printJSON(c.stdout, final); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.stdout, describeSession(final))
	}
	return sessionOutcome(final)
}

// parseStartsAt reads --starts-at: an RFC 3339 time, or a non-negative
// delay from now such as 10m or 1h30m.
func parseStartsAt(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a delay such as 10m", v)
	}
	return now.Add(d).Truncate(time.Second), nil
}

// sessionRequest builds a CreateSessionRequest from the create flags.
func sessionRequest(f *cmdFlags, image, name, typ, group, cpu, mem, gpu string, env, mounts []string) (api.CreateSessionRequest, error) {
	req := api.CreateSessionRequest{Image: image, Name: name, Group: group, Command: f.rest, Mounts: mounts}
	if image == "" {
		return req, f.usageErr("--image is required")
	}
	if name != "" {
		if err := api.ValidateName(name); err != nil {
			return req, f.usageErr("%v", err)
		}
	}
	if typ != "" {
		req.Type = api.SessionType(typ)
		if !req.Type.Valid() {
			return req, f.usageErr("--type %q: want interactive, batch or inference", typ)
		}
	}
	var err error
	if req.Env, err = parseEnvFlags(env); err != nil {
		return req, f.usageErr("%v", err)
	}
	for _, m := range mounts {
		if folder, _, _ := strings.Cut(m, ":"); folder == "" {
			return req, f.usageErr("--mount %q: want FOLDER[:PATH]", m)
		}
	}
	if cpu == "" && mem == "" && gpu == "" {
		return req, nil
	}
	r := api.DefaultResources
	if cpu != "" {
		if r.CPU, err = strconv.ParseFloat(cpu, 64); err != nil || r.CPU <= 0 {
			return req, f.usageErr("--cpu %q: want a positive number of cores", cpu)
		}
	}
	if mem != "" {
		if r.Mem, err = parseMemSize(mem); err != nil {
			return req, f.usageErr("--mem: %v", err)
		}
	}
	if gpu != "" {
		if r.GPU, err = strconv.Atoi(gpu); err != nil || r.GPU < 0 {
			return req, f.usageErr("--gpu %q: want a whole number of GPUs", gpu)
		}
	}
	req.Resources = &r
	return req, nil
}

// sessionOutcome is the error for a waited-for session that failed: it
// ended in ERROR or CANCELLED, or is a batch session whose command failed.
func sessionOutcome(s api.Session) error {
	switch {
	case s.Status == api.StatusError || s.Status == api.StatusCancelled:
		return fmt.Errorf("session %s %s: %s", sessionLabel(s), s.Status, firstNonEmpty(s.StatusInfo, "no reason given"))
	case s.Type == api.TypeBatch && s.Result == api.ResultFailure:
		code := "non-zero"
		if s.ExitCode != nil {
			code = strconv.Itoa(*s.ExitCode)
		}
		return fmt.Errorf("session %s: batch command failed with exit code %s", sessionLabel(s), code)
	}
	return nil
}

// statusPrinter prints each new status change of a session as
// "STATUS: info", from its history when the API sends one.
type statusPrinter struct {
	w                    io.Writer
	seen                 int // history entries handled
	lastStatus, lastInfo string
}

// print reports what is new in s. A nil printer prints nothing.
func (p *statusPrinter) print(s api.Session) {
	if p == nil {
		return
	}
	if len(s.History) == 0 {
		p.line(string(s.Status), s.StatusInfo)
		return
	}
	if p.seen == 0 && p.lastStatus != "" {
		// The first answer had no history: skip what was already shown.
		for i := len(s.History) - 1; i >= 0; i-- {
			if string(s.History[i].Status) == p.lastStatus {
				p.seen = i + 1
				break
			}
		}
	}
	for ; p.seen < len(s.History); p.seen++ {
		h := s.History[p.seen]
		p.line(string(h.Status), h.Info)
	}
}

func (p *statusPrinter) line(status, info string) {
	if status == p.lastStatus && info == p.lastInfo {
		return
	}
	p.lastStatus, p.lastInfo = status, info
	if info == "" {
		fmt.Fprintln(p.w, status)
		return
	}
	fmt.Fprintf(p.w, "%s: %s\n", status, info)
}

// sessionLabel is "name (1a2b3c4d)".
func sessionLabel(s api.Session) string {
	if s.Name == "" {
		return api.ShortID(s.ID)
	}
	return fmt.Sprintf("%s (%s)", s.Name, api.ShortID(s.ID))
}

// describeSession is a one-line summary of s.
func describeSession(s api.Session) string {
	line := fmt.Sprintf("Session %s %s", sessionLabel(s), s.Status)
	if s.StatusInfo != "" {
		line += ": " + s.StatusInfo
	}
	if s.Status == api.StatusRunning && s.Agent != "" && !strings.Contains(s.StatusInfo, s.Agent) {
		line += " (agent " + s.Agent + ")"
	}
	return line
}

// runSessionLs runs `berth session ls`.
func runSessionLs(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	all := f.fs.Bool("all", false, "include ended sessions")
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
	ss, err := cl.ListSessions(ctx, *all)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, ss)
	}
	now := time.Now()
	t := newCLITable(c.stdout, "ID", "NAME", "TYPE", "STATUS", "AGENT", "IMAGE", "AGE", "INFO")
	for _, s := range ss {
		t.row(api.ShortID(s.ID), s.Name, string(s.Type), string(s.Status), s.Agent, s.Image,
			humanAge(s.CreatedAt, now), truncateText(s.StatusInfo, 60))
	}
	return t.flush()
}

// sessionRef parses the one positional argument S of a session command.
// onSession runs a command on one session (named by the only argument):
// call, then print its answer as JSON with --json, else through human.
func onSession[T any](ctx context.Context, c *cli, f *cmdFlags, args []string,
	call func(*client.Client, context.Context, string) (T, error), human func(T) error) error {
	ref, err := sessionRef(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	v, err := call(cl, ctx, ref)
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, v)
	}
	return human(v)
}

func sessionRef(f *cmdFlags, args []string) (string, error) {
	if err := f.parse(args); err != nil {
		return "", err
	}
	if err := f.nargs(1, 1, "session (name, ID or ID prefix)"); err != nil {
		return "", err
	}
	return f.args[0], nil
}

// runSessionInfo runs `berth session info`.
func runSessionInfo(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	return onSession(ctx, c, f, args, (*client.Client).GetSession, func(s api.Session) error {
		t := newCLITable(c.stdout)
		field := func(k, v string) { t.row(k+":", v) }
		field("ID", s.ID)
		field("Name", s.Name)
		field("Owner", s.Owner)
		field("Image", s.Image)
		field("Type", string(s.Type))
		field("Group", s.Group)
		status := string(s.Status)
		if s.StatusInfo != "" {
			status += " (" + s.StatusInfo + ")"
		}
		field("Status", status)
		field("Agent", s.Agent)
		field("Resources", humanResources(s.Resources))
		if s.Priority != 0 {
			field("Priority", strconv.Itoa(s.Priority))
		}
		if s.StartsAt != nil {
			field("Starts at", humanTime(*s.StartsAt))
		}
		for _, d := range s.DependsOn {
			field("Depends on", d)
		}
		field("Created", humanTime(s.CreatedAt))
		if s.StartedAt != nil {
			field("Started", humanTime(*s.StartedAt))
		}
		if s.EndedAt != nil {
			field("Ended", humanTime(*s.EndedAt))
		}
		if s.Result != "" {
			field("Result", s.Result)
		}
		if s.ExitCode != nil {
			field("Exit code", strconv.Itoa(*s.ExitCode))
		}
		if len(s.Command) > 0 {
			field("Command", strings.Join(s.Command, " "))
		}
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			field("Env", k+"="+s.Env[k])
		}
		for _, m := range s.Mounts {
			field("Mount", m)
		}
		if err := t.flush(); err != nil {
			return err
		}
		if len(s.History) == 0 {
			return nil
		}
		fmt.Fprintln(c.stdout, "\nHistory:")
		t = newCLITable(c.stdout, "  TIME", "STATUS", "INFO")
		for _, h := range s.History {
			t.row("  "+humanTime(h.At), string(h.Status), h.Info)
		}
		return t.flush()
	})
}

// runSessionRm runs `berth session rm`.
func runSessionRm(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	wait := f.fs.Bool("wait", false, "wait until it is TERMINATED or CANCELLED")
	ref, err := sessionRef(f, args)
	if err != nil {
		return err
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	s, err := cl.DeleteSession(ctx, ref)
	if err != nil {
		return err
	}
	if *wait {
		var progress *statusPrinter
		if !f.json {
			progress = &statusPrinter{w: c.stderr}
			progress.print(s)
		}
		if s, err = cl.WaitSession(ctx, s.ID, nil, progress.print); err != nil {
			return err
		}
	}
	if f.json {
		return printJSON(c.stdout, s)
	}
	fmt.Fprintln(c.stdout, describeSession(s))
	return nil
}

// runSessionLogs runs `berth session logs`.
func runSessionLogs(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	return onSession(ctx, c, f, args, (*client.Client).SessionLogs, func(logs api.Logs) error {
		_, err := io.WriteString(c.stdout, logs.Logs)
		return err
	})
}

// runSessionExec runs `berth session exec`.
func runSessionExec(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	timeout := f.fs.Int("timeout", 0, "seconds the command may run (default 60)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(1, -1, "session (name, ID or ID prefix)"); err != nil {
		return err
	}
	command := append(f.args[1:], f.rest...)
	if len(command) == 0 {
		return f.usageErr("missing command: berth session exec S -- CMD [ARGS...]")
	}
	if *timeout < 0 {
		return f.usageErr("--timeout must not be negative")
	}
	cl, err := c.client(f)
	if err != nil {
		return err
	}
	res, err := cl.Exec(ctx, f.args[0], api.ExecRequest{Command: command, TimeoutSeconds: *timeout})
	if err != nil {
		return err
	}
	if f.json {
		if err := printJSON(c.stdout, res); err != nil {
			return err
		}
	} else {
		io.WriteString(c.stdout, res.Stdout)
		io.WriteString(c.stderr, res.Stderr)
	}
	if res.ExitCode != 0 {
		code := res.ExitCode
		if code < 0 || code > 255 {
			code = 1
		}
		return &exitCode{code: code}
	}
	return nil
}

// runSessionApps runs `berth session apps`.
func runSessionApps(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	return onSession(ctx, c, f, args, (*client.Client).SessionApps, func(apps []api.App) error {
		portURLs := false
		for _, a := range apps {
			portURLs = portURLs || a.PortURL != ""
		}
		header := []string{"NAME", "PROTOCOL", "URL", "OPEN_URL"}
		if portURLs {
			header = append(header, "PORT_URL")
		}
		t := newCLITable(c.stdout, header...)
		for _, a := range apps {
			row := []string{a.Name, a.Protocol, a.URL, a.OpenURL}
			if portURLs {
				row = append(row, a.PortURL)
			}
			t.row(row...)
		}
		return t.flush()
	})
}
