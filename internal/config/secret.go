package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Secret is a string that never shows in logs, fmt output or JSON; call
// Reveal where the value itself is needed (e.g. the MQTT client options).
type Secret string

const redacted = "[redacted]"

// String redacts the secret, so %v and %s never leak it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// LogValue redacts the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret in JSON, YAML and other encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// AdminPassword returns the admin password to provision on first start:
// FACEGATE_ADMIN_PASSWORD, or the file named by FACEGATE_ADMIN_PASSWORD_FILE
// (a relative name is looked up in $CREDENTIALS_DIRECTORY first), or
// $CREDENTIALS_DIRECTORY/admin_password when present; empty when none.
func AdminPassword(getenv func(string) string) (Secret, error) {
	if pw := getenv(EnvPrefix + "ADMIN_PASSWORD"); pw != "" {
		return Secret(pw), nil
	}
	creds := getenv("CREDENTIALS_DIRECTORY")
	path := getenv(EnvPrefix + "ADMIN_PASSWORD_FILE")
	optional := false
	switch {
	case path != "" && !filepath.IsAbs(path) && creds != "":
		if _, err := os.Stat(filepath.Join(creds, path)); err == nil {
			path = filepath.Join(creds, path)
		}
	case path == "" && creds != "":
		path, optional = filepath.Join(creds, "admin_password"), true
	}
	if path == "" {
		return "", nil
	}
	s, err := ReadSecretFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("%sADMIN_PASSWORD_FILE: %w", EnvPrefix, err)
	}
	return s, nil
}
