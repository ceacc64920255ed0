package config

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Secret is a password, token or key that is read when needed, from a file,
// a command's output or an environment variable. Its String and
// MarshalText never reveal the value, so it can't leak into logs or JSON.
type Secret struct {
	File    string // password_file / secret_file
	Command string // password_command, run with sh -c
	Env     string // password_env
}

// IsZero reports whether no source is configured.
func (s Secret) IsZero() bool { return s.File == "" && s.Command == "" && s.Env == "" }

// String describes where the secret comes from, never its value.
func (s Secret) String() string {
	switch {
	case s.File != "":
		return "file:" + s.File
	case s.Command != "":
		return "command"
	case s.Env != "":
		return "env:" + s.Env
	}
	return "none"
}

// MarshalText implements encoding.TextMarshaler with String.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Value reads the secret. A command is run each time (OAuth helpers print a
// fresh token), with a 30 s timeout; surrounding whitespace is trimmed.
// Errors name the source, never the value.
func (s Secret) Value(ctx context.Context) (string, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	case s.Command != "":
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-c", s.Command)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			// stderr may hold a hint ("token expired"); keep it short.
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 200 {
				msg = msg[:200]
			}
			return "", fmt.Errorf("run password command: %w: %s", err, msg)
		}
		return strings.TrimSpace(string(out)), nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	}
	return "", fmt.Errorf("no secret configured")
}
