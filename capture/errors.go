package capture

import "errors"

// Retryable reports whether err says so through a Retryable() bool method anywhere in its chain.
// A source or sink marks transient failures (a server that went away) this way; the pipeline
// restarts the stage from the last acknowledged position instead of exiting.
func Retryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}
