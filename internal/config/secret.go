package config

import "log/slog"

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
