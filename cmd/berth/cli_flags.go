package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// usageError is bad command-line input: exit 2 with one line on stderr.
type usageError struct {
	cmd string // e.g. "session create"; empty for berth itself
	msg string
}

func (e *usageError) Error() string {
	if e.cmd == "" {
		return e.msg + " (see 'berth help')"
	}
	return fmt.Sprintf("%s: %s (see 'berth %s -h')", e.cmd, e.msg, e.cmd)
}

// helpRequest asks for text to be printed on stdout with exit 0.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return "help requested" }

// exitCode ends the CLI with a code and no message (e.g. exec's remote
// exit code).
type exitCode struct{ code int }

func (e *exitCode) Error() string { return fmt.Sprintf("exit code %d", e.code) }

// cmdFlags is one subcommand's FlagSet with the flags every command takes
// (--json and the credentials), and the positional arguments once parsed.
type cmdFlags struct {
	fs       *flag.FlagSet
	name     string // "session create"
	synopsis string // "berth session create --image IMG ..."
	about    string

	json      bool
	endpoint  string
	accessKey string
	secretKey string

	args []string // positional arguments
	rest []string // arguments after "--"
}

// newCmdFlags makes the FlagSet of subcommand name.
func newCmdFlags(name, synopsis, about string) *cmdFlags {
	f := &cmdFlags{fs: flag.NewFlagSet("berth "+name, flag.ContinueOnError), name: name, synopsis: synopsis, about: about}
	f.fs.SetOutput(io.Discard)
	f.fs.BoolVar(&f.json, "json", false, "print machine-readable JSON on stdout")
	f.fs.StringVar(&f.endpoint, "endpoint", "", "API endpoint (default $BERTH_ENDPOINT, the config file, or "+cliDefaultEndpoint+")")
	f.fs.StringVar(&f.accessKey, "access-key", "", "access key (default $BERTH_ACCESS_KEY or the config file)")
	f.fs.StringVar(&f.secretKey, "secret-key", "", "secret key (default $BERTH_SECRET_KEY or the config file)")
	return f
}

// usage is the subcommand's help text.
func (f *cmdFlags) usage() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "usage: %s\n\n%s\n\nflags:\n", f.synopsis, f.about)
	f.fs.SetOutput(&b)
	f.fs.PrintDefaults()
	f.fs.SetOutput(io.Discard)
	return b.String()
}

// parse parses args, where flags may come before, between or after the
// positional arguments; everything after "--" goes to f.rest.
func (f *cmdFlags) parse(args []string) error {
	flags, pos, rest := reorderArgs(f.fs, args)
	if err := f.fs.Parse(flags); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpRequest{text: f.usage()}
		}
		return &usageError{cmd: f.name, msg: err.Error()}
	}
	// Parse stops at a lone "-" or a non-flag; keep those as positional.
	f.args = append(f.fs.Args(), pos...)
	f.rest = rest
	return nil
}

// nargs checks that there are between min and max positional arguments
// (max < 0: no upper bound).
func (f *cmdFlags) nargs(min, max int, what string) error {
	n := len(f.args)
	if n < min || (max >= 0 && n > max) {
		if n > max && max >= 0 {
			return &usageError{cmd: f.name, msg: fmt.Sprintf("unexpected argument %q", f.args[max])}
		}
		return &usageError{cmd: f.name, msg: "missing " + what}
	}
	return nil
}

// usageErr makes a usage error of this subcommand.
func (f *cmdFlags) usageErr(format string, a ...any) error {
	return &usageError{cmd: f.name, msg: fmt.Sprintf(format, a...)}
}

// cliBoolFlag is what flag's boolean values implement.
type cliBoolFlag interface{ IsBoolFlag() bool }

// reorderArgs splits args into flag arguments (each flag with its value),
// positional arguments and the arguments after "--", so that flags may
// follow positional arguments: `session rm demo --json`. Unknown flags are
// kept in flags, for fs.Parse to report.
func reorderArgs(fs *flag.FlagSet, args []string) (flags, pos, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append([]string{}, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		fl := fs.Lookup(name)
		if fl == nil {
			continue
		}
		if bf, ok := fl.Value.(cliBoolFlag); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return flags, pos, rest
}

// cliStringList is a repeatable string flag.
type cliStringList []string

func (l *cliStringList) String() string     { return strings.Join(*l, ",") }
func (l *cliStringList) Set(v string) error { *l = append(*l, v); return nil }

// parseEnvFlags turns KEY=VALUE items into a map; a later key wins.
func parseEnvFlags(items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	env := make(map[string]string, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok {
			return nil, fmt.Errorf("--env %q: want KEY=VALUE", it)
		}
		if k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, fmt.Errorf("--env %q: invalid variable name", it)
		}
		env[k] = v
	}
	return env, nil
}

// memSizeUnits are the memory size suffixes, all binary (1k = 1024).
var memSizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gi": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "ti": 1 << 40, "tib": 1 << 40,
}

// parseMemSize parses a memory size: plain bytes ("1048576") or a number with
// a binary unit ("512m", "1g", "1.5G", "2GiB").
func parseMemSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	mult, ok := memSizeUnits[unit]
	if num == "" || !ok {
		return 0, fmt.Errorf("invalid size %q: want bytes or a number with k, m, g or t (e.g. 512m, 1.5g)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: %w", s, err)
	}
	v := f * mult
	if v < 1 || v > math.MaxInt64/2 {
		return 0, fmt.Errorf("invalid size %q: must be between 1 byte and 4 EiB", s)
	}
	return int64(math.Round(v)), nil
}
