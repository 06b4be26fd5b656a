package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds the configuration file; a larger file is refused
// rather than parsed.
const MaxFileSize = 1 << 20

// EnvPrefix starts every environment variable that sets a key.
const EnvPrefix = "FACEGATE_"

// credentialName is the file looked up in $CREDENTIALS_DIRECTORY (systemd's
// LoadCredential=) when mqtt.password_file is empty.
const credentialName = "mqtt_password"

var durationType = reflect.TypeFor[time.Duration]()

// Load builds the configuration: defaults, then the YAML file at path (none
// when path is empty), then FACEGATE_* variables read through getenv, then
// secrets, then Validate. getenv is os.Getenv in production and a map in
// tests.
func Load(path string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := defaults(getenv)
	if path != "" {
		data, err := readLimited(path)
		if err != nil {
			return Config{}, err
		}
		if err := decodeYAML(data, &c); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, getenv); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	if err := c.loadSecrets(getenv); err != nil {
		return Config{}, err
	}
	return c, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

// decodeYAML overlays one YAML document onto c. Unknown keys are errors (a
// typo must not silently fall back to a default); an empty file changes
// nothing.
func decodeYAML(data []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document")
	}
	// Decode again from the text (not the node) so KnownFields applies.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nameKeys(te, &doc)
		}
		return err
	}
	return nil
}

// nameKeys rewrites yaml's "line N: cannot unmarshal ..." messages to start
// with the key found on that line, so every error names its field.
func nameKeys(te *yaml.TypeError, doc *yaml.Node) error {
	errs := make([]error, 0, len(te.Errors))
	for _, msg := range te.Errors {
		var line int
		if _, err := fmt.Sscanf(msg, "line %d:", &line); err == nil {
			if key := keyAtLine(doc, line, ""); key != "" {
				msg = key + ": " + msg
			}
		}
		errs = append(errs, errors.New(msg))
	}
	return errors.Join(errs...)
}

// keyAtLine returns the dotted path of the mapping key whose value starts on
// line, or "".
func keyAtLine(n *yaml.Node, line int, prefix string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if k := keyAtLine(c, line, prefix); k != "" {
				return k
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := key.Value
			if prefix != "" {
				path = prefix + "." + key.Value
			}
			if k := keyAtLine(val, line, path); k != "" {
				return k
			}
			if val.Line == line || key.Line == line {
				return path
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if k := keyAtLine(c, line, fmt.Sprintf("%s[%d]", prefix, i)); k != "" {
				return k
			}
		}
	}
	return ""
}

// leaf is one settable scalar key of the configuration.
type leaf struct {
	path  []string // yaml keys from the root
	doc   string
	value reflect.Value
}

// Key is the dotted YAML path, e.g. "mqtt.broker".
func (l leaf) Key() string { return strings.Join(l.path, ".") }

// Env is the environment variable that sets the key, e.g. FACEGATE_MQTT_BROKER.
func (l leaf) Env() string { return EnvPrefix + strings.ToUpper(strings.Join(l.path, "_")) }

// leaves walks v (a struct) and returns every key in declaration order.
// Lists are returned as leaves too; the environment skips them.
func leaves(v reflect.Value, prefix []string) []leaf {
	var out []leaf
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		p := append(append([]string(nil), prefix...), name)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			out = append(out, leaves(fv, p)...)
			continue
		}
		out = append(out, leaf{path: p, doc: f.Tag.Get("doc"), value: fv})
	}
	return out
}

// applyEnv sets every scalar key whose FACEGATE_* variable is non-empty.
func applyEnv(c *Config, getenv func(string) string) error {
	var errs []error
	for _, l := range leaves(reflect.ValueOf(c).Elem(), nil) {
		if l.value.Kind() == reflect.Slice {
			continue // lists only from the file
		}
		s := getenv(l.Env())
		if s == "" {
			continue
		}
		if err := setScalar(l.value, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.Env(), err))
		}
	}
	return errors.Join(errs...)
}

func setScalar(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration like 5m or 30s: %q", s)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not true or false: %q", s)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.ParseInt(s, 10, 0)
		if err != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("cannot be set from the environment (%s)", v.Type())
	}
	return nil
}

// loadSecrets reads the MQTT password from mqtt.password_file (a relative
// name is looked up in $CREDENTIALS_DIRECTORY first) or, when that is
// empty, from $CREDENTIALS_DIRECTORY/mqtt_password if it exists.
func (c *Config) loadSecrets(getenv func(string) string) error {
	creds := getenv("CREDENTIALS_DIRECTORY")
	path := c.MQTT.PasswordFile
	optional := false
	switch {
	case path != "" && !filepath.IsAbs(path) && creds != "":
		if _, err := os.Stat(filepath.Join(creds, path)); err == nil {
			path = filepath.Join(creds, path)
		}
	case path == "" && creds != "":
		path, optional = filepath.Join(creds, credentialName), true
	}
	if path == "" {
		return nil
	}
	s, err := ReadSecretFile(path)
	if err != nil {
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("mqtt.password_file: %w", err)
	}
	c.MQTT.Password = s
	return nil
}

// ReadSecretFile reads a small secret file (at most 4 KiB) and drops one
// trailing newline, as editors and `echo` add one.
func ReadSecretFile(path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%s: larger than 4 KiB", path)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return Secret(s), nil
}
