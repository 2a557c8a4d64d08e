package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCmdFlagsParse(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantArgs []string
		wantRest []string
		wantJSON bool
		wantWait bool
		wantEnv  []string
		wantName string
		wantErr  bool
	}{
		{name: "flag after positional", args: []string{"demo", "--json"}, wantArgs: []string{"demo"}, wantJSON: true},
		{name: "flag before positional", args: []string{"--json", "demo"}, wantArgs: []string{"demo"}, wantJSON: true},
		{name: "single dash", args: []string{"-json", "demo"}, wantArgs: []string{"demo"}, wantJSON: true},
		{name: "value flag between", args: []string{"a", "--name", "n", "b"}, wantArgs: []string{"a", "b"}, wantName: "n"},
		{name: "value flag with =", args: []string{"a", "--name=n"}, wantArgs: []string{"a"}, wantName: "n"},
		{name: "value that looks like a flag", args: []string{"--name", "-x"}, wantName: "-x"},
		{name: "bool with =false", args: []string{"--json=false", "x"}, wantArgs: []string{"x"}},
		{
			name:    "repeated env and rest",
			args:    []string{"--env", "A=1", "--wait", "--env=B=2", "--", "sh", "-c", "echo --json"},
			wantEnv: []string{"A=1", "B=2"}, wantWait: true, wantRest: []string{"sh", "-c", "echo --json"},
		},
		{name: "lone dash is positional", args: []string{"-", "--json"}, wantArgs: []string{"-"}, wantJSON: true},
		{name: "unknown flag", args: []string{"demo", "--nope"}, wantErr: true},
		{name: "missing value", args: []string{"--name"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCmdFlags("test", "berth test", "a test")
			var env cliStringList
			f.fs.Var(&env, "env", "")
			wait := f.fs.Bool("wait", false, "")
			name := f.fs.String("name", "", "")
			err := f.parse(tt.args)
			if tt.wantErr {
				var ue *usageError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(f.args) == 0 {
				f.args = nil
			}
			if !reflect.DeepEqual(f.args, tt.wantArgs) || !reflect.DeepEqual(f.rest, tt.wantRest) {
				t.Errorf("args, rest = %q, %q; want %q, %q", f.args, f.rest, tt.wantArgs, tt.wantRest)
			}
			if f.json != tt.wantJSON || *wait != tt.wantWait || *name != tt.wantName || !reflect.DeepEqual([]string(env), tt.wantEnv) {
				t.Errorf("json=%v wait=%v name=%q env=%q", f.json, *wait, *name, env)
			}
		})
	}
}

func TestCmdFlagsHelp(t *testing.T) {
	f := newCmdFlags("session rm", "berth session rm S", "Terminate.")
	err := f.parse([]string{"demo", "-h"})
	var h *helpRequest
	if !errors.As(err, &h) {
		t.Fatalf("err = %v, want a help request", err)
	}
}

func TestParseMemSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "512m", want: 512 << 20},
		{in: "512M", want: 512 << 20},
		{in: "512MiB", want: 512 << 20},
		{in: "1g", want: 1 << 30},
		{in: "1.5G", want: 3 << 29},
		{in: "2gb", want: 2 << 30},
		{in: "64k", want: 64 << 10},
		{in: "1t", want: 1 << 40},
		{in: "100b", want: 100},
		{in: " 1g ", want: 1 << 30},
		{in: "", wantErr: true},
		{in: "g", wantErr: true},
		{in: "1x", wantErr: true},
		{in: "-1g", wantErr: true},
		{in: "0", wantErr: true},
		{in: "1.2.3m", wantErr: true},
		{in: "99999999999t", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseMemSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseMemSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseEnvFlags(t *testing.T) {
	tests := []struct {
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{in: nil, want: nil},
		{in: []string{"A=1", "B=x=y", "C="}, want: map[string]string{"A": "1", "B": "x=y", "C": ""}},
		{in: []string{"A=1", "A=2"}, want: map[string]string{"A": "2"}},
		{in: []string{"A"}, wantErr: true},
		{in: []string{"=1"}, wantErr: true},
		{in: []string{"A B=1"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseEnvFlags(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseEnvFlags(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestResolveCreds(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.json")
	if err := saveCLIConfig(cfgPath, cliConfig{Endpoint: "http://file", AccessKey: "AKfile", SecretKey: "SKfile"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(cfgPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config mode = %v, %v; want 0600", fi.Mode(), err)
	}
	tests := []struct {
		name  string
		flags cliCreds
		env   map[string]string
		want  cliCreds
	}{
		{
			name: "file only",
			env:  map[string]string{"BERTH_CONFIG": cfgPath},
			want: cliCreds{"http://file", "AKfile", "SKfile"},
		},
		{
			name: "env beats file",
			env:  map[string]string{"BERTH_CONFIG": cfgPath, "BERTH_ENDPOINT": "http://env", "BERTH_ACCESS_KEY": "AKenv", "BERTH_SECRET_KEY": "SKenv"},
			want: cliCreds{"http://env", "AKenv", "SKenv"},
		},
		{
			name:  "flags beat env",
			flags: cliCreds{"http://flag", "AKflag", "SKflag"},
			env:   map[string]string{"BERTH_CONFIG": cfgPath, "BERTH_ENDPOINT": "http://env", "BERTH_ACCESS_KEY": "AKenv", "BERTH_SECRET_KEY": "SKenv"},
			want:  cliCreds{"http://flag", "AKflag", "SKflag"},
		},
		{
			name:  "each field on its own",
			flags: cliCreds{Endpoint: "http://flag"},
			env:   map[string]string{"BERTH_CONFIG": cfgPath, "BERTH_ACCESS_KEY": "AKenv"},
			want:  cliCreds{"http://flag", "AKenv", "SKfile"},
		},
		{
			name: "no file: default endpoint",
			env:  map[string]string{"BERTH_CONFIG": filepath.Join(dir, "missing.json")},
			want: cliCreds{Endpoint: cliDefaultEndpoint},
		},
		{
			name: "XDG_CONFIG_HOME",
			env:  map[string]string{"XDG_CONFIG_HOME": dir, "HOME": "/nonexistent"},
			want: cliCreds{Endpoint: cliDefaultEndpoint},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveCreds(tt.flags, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCLIConfigPath(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{env: map[string]string{"BERTH_CONFIG": "/x/c.json", "XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}, want: "/x/c.json"},
		{env: map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}, want: "/xdg/berth/config.json"},
		{env: map[string]string{"HOME": "/h"}, want: "/h/.config/berth/config.json"},
	}
	for _, tt := range tests {
		got, err := cliConfigPath(func(k string) string { return tt.env[k] })
		if err != nil || got != tt.want {
			t.Errorf("cliConfigPath(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}

func TestBadConfigFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, []byte("{nope"), 0o600)
	_, err := resolveCreds(cliCreds{}, func(k string) string { return map[string]string{"BERTH_CONFIG": p}[k] })
	if err == nil {
		t.Fatal("want an error for a corrupt config file")
	}
}

func TestHoistGlobalFlags(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{in: []string{"--json", "session", "ls"}, want: []string{"session", "ls", "--json"}},
		{in: []string{"--endpoint", "http://e", "-json", "agent", "ls"}, want: []string{"agent", "ls", "--endpoint", "http://e", "-json"}},
		{in: []string{"--endpoint=http://e", "session", "create", "--image", "i", "--", "sh"}, want: []string{"session", "create", "--image", "i", "--endpoint=http://e", "--", "sh"}},
		{in: []string{"--json", "up"}, want: []string{"--json", "up"}},
		{in: []string{"--json"}, want: []string{"--json"}},
		{in: []string{"-h"}, want: []string{"-h"}},
		{in: []string{"session", "ls", "--json"}, want: []string{"session", "ls", "--json"}},
	}
	for _, tt := range tests {
		if got := hoistGlobalFlags(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("hoistGlobalFlags(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
