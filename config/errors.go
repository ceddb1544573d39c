package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one configuration key. Key is the key path
// as written in YAML, with list indexes: "projects[1].address".
type FieldError struct {
	Key string
	Msg string
	// Err is the underlying cause, when there is one (a decode or I/O error).
	Err error
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// Unwrap returns the underlying cause, if any.
func (e *FieldError) Unwrap() error { return e.Err }

// UnknownKeyError reports a key the configuration does not have — nearly
// always a typo, which would otherwise silently leave a default in force.
type UnknownKeyError struct {
	Key string
}

func (e *UnknownKeyError) Error() string { return fmt.Sprintf("unknown key %q", e.Key) }

// Errors is every problem found while loading a configuration. Load returns
// it so that `check-config` can print all problems at once instead of making
// the operator fix them one restart at a time.
type Errors struct {
	List []error
}

// Error lists the problems, one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(e.List))
	for i, err := range e.List {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the problems to errors.Is and errors.As.
func (e *Errors) Unwrap() []error { return e.List }

// fieldErr is shorthand for the validation messages.
func fieldErr(key, format string, args ...any) error {
	return &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// keyOf returns the key path an error is about, or "" for errors that are
// about the file as a whole.
func keyOf(err error) string {
	switch e := err.(type) {
	case *FieldError:
		return e.Key
	case *UnknownKeyError:
		return e.Key
	}
	return ""
}

// within reports whether key is prefix or lies below it in the key tree.
func within(key, prefix string) bool {
	if !strings.HasPrefix(key, prefix) {
		return false
	}
	rest := key[len(prefix):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}
