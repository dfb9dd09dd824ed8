package mysql

import (
	"errors"
	"fmt"
)

var (
	// ErrSchemaMismatch: a TABLE_MAP does not match the schema history's definition.
	ErrSchemaMismatch = errors.New("binlog table map does not match the schema history")
	// ErrPurged: the offset's binlog position is no longer on the server.
	ErrPurged = errors.New("binlog position purged from the server")
	// ErrPreflight: the server is not set up for change capture.
	ErrPreflight = errors.New("server not ready for change capture")
)

// retryableError marks a transient failure (the server went away).
type retryableError struct{ err error }

func (e *retryableError) Error() string   { return e.err.Error() }
func (e *retryableError) Unwrap() error   { return e.err }
func (e *retryableError) Retryable() bool { return true }

func errorf(format string, args ...any) error { return fmt.Errorf("mysql: "+format, args...) }
