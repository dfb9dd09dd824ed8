package signal

import "fmt"

// Error is a signal that cannot be acted on: unknown type, data that is not the JSON the type
// needs, a data-collections pattern that does not compile. It is never retryable: the same
// signal fails the same way; the operator sends a corrected one.
type Error struct {
	ID     string // the signal's id ("" if the message had none)
	Type   string // the signal's type as sent
	Reason string
	Err    error // the underlying JSON or regexp error, if any
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("signal %q (type %q): %s", e.ID, e.Type, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports false: see Error.
func (e *Error) Retryable() bool { return false }
