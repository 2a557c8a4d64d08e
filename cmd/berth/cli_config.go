package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// cliDefaultEndpoint is the API of a local `berth up`.
const cliDefaultEndpoint = "http://localhost:8080"

// cliConfig is the CLI config file that `berth login` writes.
type cliConfig struct {
	Endpoint  string `json:"endpoint"`
	Email     string `json:"email,omitempty"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// cliConfigPath is $BERTH_CONFIG, else $XDG_CONFIG_HOME/berth/config.json,
// else ~/.config/berth/config.json.
func cliConfigPath(getenv func(string) string) (string, error) {
	if p := getenv("BERTH_CONFIG"); p != "" {
		return p, nil
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "berth", "config.json"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the config file: %w (set BERTH_CONFIG)", err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "berth", "config.json"), nil
}

// loadCLIConfig reads the config file; a missing file is an empty config.
func loadCLIConfig(path string) (cliConfig, error) {
	var cfg cliConfig
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("reading config: %w", err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, fmt.Errorf("reading config %s: %w", path, err)
	}
	return cfg, nil
}

// saveCLIConfig writes cfg to path with mode 0600 (its directory 0700),
// replacing the old file atomically.
func saveCLIConfig(path string, cfg cliConfig) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating config directory: %w", err)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".config-*.json")
	if err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing config: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing config: %w", err)
	}
	return nil
}

// cliCreds are where and as whom the CLI talks to the API.
type cliCreds struct {
	Endpoint  string
	AccessKey string
	SecretKey string
}

// resolveCreds picks each of endpoint, access key and secret key from the
// flags, else the environment, else the config file (read only when
// needed); the endpoint defaults to cliDefaultEndpoint.
func resolveCreds(flags cliCreds, getenv func(string) string) (cliCreds, error) {
	c := cliCreds{
		Endpoint:  firstNonEmpty(flags.Endpoint, getenv("BERTH_ENDPOINT")),
		AccessKey: firstNonEmpty(flags.AccessKey, getenv("BERTH_ACCESS_KEY")),
		SecretKey: firstNonEmpty(flags.SecretKey, getenv("BERTH_SECRET_KEY")),
	}
	if c.Endpoint == "" || c.AccessKey == "" || c.SecretKey == "" {
		path, err := cliConfigPath(getenv)
		if err != nil {
			return c, err
		}
		cfg, err := loadCLIConfig(path)
		if err != nil {
			return c, err
		}
		c.Endpoint = firstNonEmpty(c.Endpoint, cfg.Endpoint)
		c.AccessKey = firstNonEmpty(c.AccessKey, cfg.AccessKey)
		c.SecretKey = firstNonEmpty(c.SecretKey, cfg.SecretKey)
	}
	c.Endpoint = firstNonEmpty(c.Endpoint, cliDefaultEndpoint)
	return c, nil
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
