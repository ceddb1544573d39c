package config

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// EnvPrefix starts every environment override: data_dir is TICKETGATE_DATA_DIR,
// web.base_url is TICKETGATE_WEB_BASE_URL.
const EnvPrefix = "TICKETGATE_"

var (
	durationType = reflect.TypeFor[time.Duration]()
	toggleType   = reflect.TypeFor[Toggle]()
	stringsType  = reflect.TypeFor[[]string]()
)

// Load reads the YAML file at path, applies the built-in defaults and the
// TICKETGATE_* environment overrides, resolves relative paths against the
// file's folder, validates, and indexes the result for the lookup helpers.
//
// Every problem is reported, each with its key path, in one *Errors; the
// Config is nil then. Environment overrides exist for every key outside
// projects (lists as comma-separated values); relative paths coming from the
// environment are resolved against the config file's folder too.
func Load(path string) (*Config, error) { return load(path, true) }

// LoadClient loads the config for a client command (the admin CLI,
// `deliver`), which needs data_dir and the sockets in it but no secret:
// it reads no password, token or key file, so the MTA's pipe user and an
// agent's shell need not be able to read them.
func LoadClient(path string) (*Config, error) { return load(path, false) }

func load(path string, secrets bool) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &Errors{List: []error{fmt.Errorf("config path %s: %w", path, err)}}
	}
	v := viper.New()
	v.SetConfigFile(abs)
	// The type is fixed so that a file named without .yaml still parses.
	v.SetConfigType("yaml")
	for _, l := range leaves(reflect.ValueOf(Default()).Elem(), "") {
		if !l.value.IsZero() {
			v.SetDefault(l.key, l.value.Interface())
		}
		// AutomaticEnv would not reach keys missing from the file; an
		// explicit binding makes every key known to AllSettings.
		if err := v.BindEnv(l.key, EnvName(l.key)); err != nil {
			return nil, &Errors{List: []error{fmt.Errorf("bind %s: %w", l.key, err)}}
		}
	}
	if err := v.ReadInConfig(); err != nil {
		if yerr := yamlSyntaxError(abs); yerr != nil {
			return nil, &Errors{List: []error{yerr}}
		}
		return nil, &Errors{List: []error{fmt.Errorf("read config %s: %w", abs, err)}}
	}

	settings := v.AllSettings()
	problems := unknownKeys(settings, reflect.TypeFor[Config](), "")
	enableMissingToggles(settings)

	cfg := &Config{}
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           cfg,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			toggleHook, durationHook, commaListHook,
		),
	})
	if err != nil {
		return nil, &Errors{List: []error{fmt.Errorf("config decoder: %w", err)}}
	}
	if err := dec.Decode(settings); err != nil {
		problems = append(problems, decodeProblems(err)...)
	}

	cfg.Path = abs
	cfg.deriveDefaults()
	cfg.resolvePaths(filepath.Dir(abs))
	problems = appendUnlessCovered(problems, cfg.Validate())
	if secrets {
		problems = appendUnlessCovered(problems, cfg.checkFiles())
		problems = appendUnlessCovered(problems, cfg.loadAccess())
	}
	if len(problems) > 0 {
		return nil, &Errors{List: problems}
	}
	cfg.buildIndex()
	return cfg, nil
}

// Finalize prepares a Config built in code the way Load prepares a file's:
// derived defaults, absolute paths (against Path's folder, else the working
// directory), validation and the lookup index. Call it again after changing
// the Config. It returns an *Errors when the Config is invalid.
func (c *Config) Finalize() error {
	c.deriveDefaults()
	c.resolvePaths(c.baseDir())
	if errs := c.Validate(); len(errs) > 0 {
		return &Errors{List: errs}
	}
	if errs := c.loadAccess(); len(errs) > 0 {
		return &Errors{List: errs}
	}
	c.buildIndex()
	return nil
}

// EnvName is the environment variable that overrides a key path:
// "inbound.smtp.listen" → "TICKETGATE_INBOUND_SMTP_LISTEN".
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// leaf is one overridable key with its default.
type leaf struct {
	key   string
	value reflect.Value
}

// leaves lists the keys outside projects whose values are not sections:
// the keys that take defaults and environment overrides.
func leaves(v reflect.Value, prefix string) []leaf {
	var out []leaf
	t := v.Type()
	for i := range t.NumField() {
		name := tagName(t.Field(i))
		if name == "" || (prefix == "" && name == "projects") {
			continue
		}
		key := prefix + name
		if f := v.Field(i); f.Kind() == reflect.Struct {
			out = append(out, leaves(f, key+".")...)
		} else {
			out = append(out, leaf{key: key, value: f})
		}
	}
	return out
}

// unknownKeys walks the raw settings along the struct type and reports every
// key the type lacks, with its full path. It is done here rather than with
// mapstructure's ErrorUnused because that reports a section's unknown keys
// only as "'inbound' has invalid keys: a, b" and drops them entirely when the
// same section also has a type error.
func unknownKeys(data any, t reflect.Type, path string) []error {
	var out []error
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := data.(map[string]any)
		if !ok {
			// A scalar where a section belongs: the decoder reports it.
			return nil
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			if name := tagName(t.Field(i)); name != "" {
				fields[name] = t.Field(i).Type
			}
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				out = append(out, &UnknownKeyError{Key: p})
				continue
			}
			out = append(out, unknownKeys(m[k], ft, p)...)
		}
	case reflect.Slice:
		items, ok := data.([]any)
		if !ok {
			return nil
		}
		for i, item := range items {
			out = append(out, unknownKeys(item, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
	}
	return out
}

// enableMissingToggles sets every toggle a project's YAML leaves out (or
// leaves empty) to true: all notifications are on unless switched off. It
// edits the raw settings because after decoding, "absent" and "false" look
// the same.
func enableMissingToggles(settings map[string]any) {
	projects, _ := settings["projects"].([]any)
	var n Notifications
	toggles := n.toggles()
	for _, p := range projects {
		pm, ok := p.(map[string]any)
		if !ok {
			continue
		}
		notif := subMap(pm, "notifications")
		if notif == nil {
			continue
		}
		for _, t := range toggles {
			audience, name, _ := strings.Cut(t.key, ".")
			section := subMap(notif, audience)
			if section != nil && section[name] == nil {
				section[name] = true
			}
		}
	}
}

// subMap returns m[key] as a map, creating it when absent or null, and nil
// when it holds something else (the decoder then reports the type).
func subMap(m map[string]any, key string) map[string]any {
	switch v := m[key].(type) {
	case map[string]any:
		return v
	case nil:
		sub := map[string]any{}
		m[key] = sub
		return sub
	}
	return nil
}

// toggleHook lets a toggle be written as a bare bool or as a rule; a rule
// means "on" unless it says enabled: false.
func toggleHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != toggleType {
		return data, nil
	}
	switch d := data.(type) {
	case bool:
		return map[string]any{"enabled": d}, nil
	case map[string]any:
		if _, ok := d["enabled"]; ok {
			return d, nil
		}
		rule := maps.Clone(d)
		rule["enabled"] = true
		return rule, nil
	case Toggle:
		return d, nil
	}
	return nil, fmt.Errorf("must be true, false or a rule {statuses: [...], to: [...]}, got %#v", data)
}

// durationHook parses "30s"-style durations and refuses bare numbers, which
// weak typing would otherwise take as nanoseconds (timeout: 60 → 60ns).
func durationHook(_ reflect.Type, to reflect.Type, data any) (any, error) {
	if to != durationType {
		return data, nil
	}
	switch d := data.(type) {
	case time.Duration:
		return d, nil
	case string:
		dur, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q (use units such as 30s, 15m, 4320h)", d)
		}
		return dur, nil
	}
	return nil, fmt.Errorf("invalid duration %v: give a unit, such as 30s, 15m or 4320h", data)
}

// commaListHook splits a string given for a list (which is how lists arrive
// from the environment) on commas, trimming blanks around each entry.
func commaListHook(from reflect.Type, to reflect.Type, data any) (any, error) {
	if to != stringsType || from.Kind() != reflect.String {
		return data, nil
	}
	out := []string{}
	for part := range strings.SplitSeq(data.(string), ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}

// decodeProblems turns the decoder's joined errors into one FieldError per
// key.
func decodeProblems(err error) []error {
	if de, ok := err.(*mapstructure.DecodeError); ok {
		return []error{&FieldError{Key: de.Name(), Msg: errors.Unwrap(de).Error(), Err: err}}
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, decodeProblems(e)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		return decodeProblems(inner)
	}
	return []error{err}
}

// appendUnlessCovered adds the new problems except those about a key that
// already has one: a value that failed to decode would otherwise also be
// reported as "required" or out of range.
func appendUnlessCovered(problems, more []error) []error {
	base := len(problems)
next:
	for _, e := range more {
		key := keyOf(e)
		for _, old := range problems[:base] {
			if k := keyOf(old); k != "" && key != "" && within(key, k) {
				continue next
			}
		}
		problems = append(problems, e)
	}
	return problems
}

// checkFiles does the checks that need I/O, which Validate must not do.
func (c *Config) checkFiles() []error {
	var out []error
	if c.Outbound.Transport == "smtp" && c.Outbound.SMTP.PasswordFile != "" {
		if _, err := SecretFromFile(c.Outbound.SMTP.PasswordFile); err != nil {
			out = append(out, &FieldError{Key: "outbound.smtp.password_file", Msg: err.Error(), Err: err})
		}
	}
	out = append(out, c.checkIMAPFiles()...)
	out = append(out, c.checkWebhookFiles()...)
	out = append(out, c.checkOIDCFiles()...)
	out = append(out, c.checkStoreFiles()...)
	out = append(out, c.checkPGPFiles()...)
	return out
}
