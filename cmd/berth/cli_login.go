package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/berth-dev/berth/api/client"
)

// loginCommands is `berth login`.
func loginCommands() []cliCommand {
	return []cliCommand{{
		name:     "login",
		synopsis: "login [--email E] [--password P] [--endpoint URL]",
		about: "Log in with a password and store the endpoint and a keypair in the CLI config.\n" +
			"Missing values are prompted for on the terminal; when stdin is not a terminal\n" +
			"the password is read from its first line.",
		run: runLogin,
	}}
}

// runLogin runs `berth login`.
func runLogin(ctx context.Context, c *cli, f *cmdFlags, args []string) error {
	email := f.fs.String("email", "", "account email")
	password := f.fs.String("password", "", "password (prompted for, or read from stdin, when missing)")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := f.nargs(0, 0, ""); err != nil {
		return err
	}
	path, err := cliConfigPath(c.getenv)
	if err != nil {
		return err
	}
	cfg, err := loadCLIConfig(path)
	if err != nil {
		return err
	}
	endpoint := firstNonEmpty(f.endpoint, c.getenv("BERTH_ENDPOINT"), cfg.Endpoint, cliDefaultEndpoint)

	in := bufio.NewReader(c.stdin)
	tty := stdinTerminal(c.stdin)
	if *email == "" {
		if !tty {
			return f.usageErr("--email is required when stdin is not a terminal")
		}
		fmt.Fprint(c.stderr, "Email: ")
		if *email, err = readLine(in); err != nil {
			return fmt.Errorf("reading email: %w", err)
		}
	}
	if *password == "" {
		if *password, err = readPassword(c, in, tty); err != nil {
			return err
		}
	}
	if *email == "" || *password == "" {
		return f.usageErr("email and password must not be empty")
	}

	cl := client.New(endpoint, "", "", client.WithUserAgent("berth-cli/"+versionString()))
	resp, err := cl.Login(ctx, *email, *password)
	if err != nil {
		return err
	}
	if resp.User.AccessKey == "" || resp.User.SecretKey == "" {
		return errors.New("login answer carries no keypair")
	}
	cfg = cliConfig{Endpoint: endpoint, Email: resp.User.Email, AccessKey: resp.User.AccessKey, SecretKey: resp.User.SecretKey}
	if err := saveCLIConfig(path, cfg); err != nil {
		return err
	}
	if f.json {
		return printJSON(c.stdout, resp)
	}
	fmt.Fprintf(c.stdout, "Logged in to %s as %s (%s); keypair %s saved in %s\n",
		endpoint, resp.User.Email, resp.User.Role, resp.User.AccessKey, path)
	return nil
}

// readPassword prompts for the password without echo on a terminal, or
// reads the first line of stdin.
func readPassword(c *cli, in *bufio.Reader, tty bool) (string, error) {
	if tty {
		fmt.Fprint(c.stderr, "Password: ")
		b, err := term.ReadPassword(int(c.stdin.(*os.File).Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", fmt.Errorf("reading password: %w", err)
		}
		return string(b), nil
	}
	p, err := readLine(in)
	if err != nil {
		return "", fmt.Errorf("reading password from stdin: %w", err)
	}
	return p, nil
}

// readLine reads one line without its line ending; EOF after some text is
// not an error.
func readLine(r *bufio.Reader) (string, error) {
	s, err := r.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no input")
		}
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// stdinTerminal reports whether r is a terminal.
func stdinTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
