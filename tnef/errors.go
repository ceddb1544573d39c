package tnef

import "fmt"

// Kind says what is wrong with a TNEF stream.
type Kind int

// The kinds of decode failure.
const (
	KindSignature Kind = iota + 1 // not a TNEF stream
	KindTruncated                 // the stream ends inside an attribute or value
	KindChecksum                  // an attribute's checksum does not match
	KindMalformed                 // a field has a value the format does not allow
	KindLimit                     // a size or count is above Limits
	KindRTF                       // the compressed RTF body is broken
)

func (k Kind) String() string {
	switch k {
	case KindSignature:
		return "not TNEF"
	case KindTruncated:
		return "truncated"
	case KindChecksum:
		return "bad checksum"
	case KindMalformed:
		return "malformed"
	case KindLimit:
		return "over limit"
	case KindRTF:
		return "bad compressed RTF"
	}
	return fmt.Sprintf("kind %d", int(k))
}

// Error is a decode failure: its Kind, where in the stream it was found,
// and what was found. Decode failures are permanent: the same bytes fail
// the same way (Temporary reports false for package fault).
type Error struct {
	Kind   Kind
	Offset int64
	Detail string
}

func newError(k Kind, off int64, format string, args ...any) *Error {
	return &Error{Kind: k, Offset: off, Detail: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	return fmt.Sprintf("tnef: %s at offset %d: %s", e.Kind, e.Offset, e.Detail)
}

// Temporary reports false: trying again will not decode the stream.
func (e *Error) Temporary() bool { return false }

// Is makes errors.Is(err, &tnef.Error{Kind: tnef.KindChecksum}) match
// every error of that kind.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Offset == 0 && t.Detail == ""
}
