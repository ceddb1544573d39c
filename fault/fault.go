// Package fault classifies errors as temporary or permanent.
//
// Every stage that can fail (store, transports, parsing, the IMAP source)
// wraps its errors so that the edge deciding what to tell the outside world
// (an SMTP code, a sysexits status, whether to retry an IMAP message) can ask
// one question: will trying again later help? Temporary errors become 4xx
// SMTP replies and EX_TEMPFAIL; everything else is permanent.
package fault

import (
	"errors"
	"fmt"
)

// temporaryError marks its wrapped error as worth retrying.
type temporaryError struct{ err error }

func (e *temporaryError) Error() string   { return e.err.Error() }
func (e *temporaryError) Unwrap() error   { return e.err }
func (e *temporaryError) Temporary() bool { return true }

// permanentError marks its wrapped error as not worth retrying, overriding a
// temporary error further down the chain.
type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Temporary() bool { return false }

// Temporary wraps err so that IsTemporary reports true. A nil err stays nil.
func Temporary(err error) error {
	if err == nil {
		return nil
	}
	return &temporaryError{err: err}
}

// Temporaryf is fmt.Errorf (with %w support) marked temporary.
func Temporaryf(format string, args ...any) error {
	return &temporaryError{err: fmt.Errorf(format, args...)}
}

// Permanent wraps err so that IsTemporary reports false even when something
// it wraps claims to be temporary. A nil err stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// Permanentf is fmt.Errorf (with %w support) marked permanent.
func Permanentf(format string, args ...any) error {
	return &permanentError{err: fmt.Errorf(format, args...)}
}

// IsTemporary reports whether the outermost error in err's chain that states
// an opinion (any error with a Temporary() bool method, which includes
// *smtp.SMTPError and net.Error) says it is temporary. Errors that state no
// opinion are permanent.
func IsTemporary(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) {
		return t.Temporary()
	}
	return false
}
