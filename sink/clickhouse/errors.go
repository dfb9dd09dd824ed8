package clickhouse

import (
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

var (
	// ErrUnsupportedType: a Connect or ClickHouse type the sink cannot map.
	ErrUnsupportedType = errors.New("unsupported type")
	// ErrNoSchema: a record without a JSON schema for a table that does not exist yet.
	ErrNoSchema = errors.New("record carries no schema and the target table does not exist: create the table or produce records with schemas (value.converter.schemas.enable=true)")
	// ErrNoPosition: a change event whose source block has neither an LSN nor a binlog file/pos.
	ErrNoPosition = errors.New("change event has no source position (source.lsn or source.file/pos) to version the row")
	// ErrIncompatible: a schema change the sink cannot apply with ALTER TABLE.
	ErrIncompatible = errors.New("incompatible schema change")
	// ErrTableDropped: a target table the sink had written to no longer exists (dropped
	// while the sink ran). The rows it held are gone and the change stream will not bring them
	// back, so the sink stops rather than recreate the table with only later changes.
	ErrTableDropped = errors.New("target table was dropped while the sink wrote to it")
	// ErrColumnDropped: a column of a target table was dropped or renamed outside sluice while
	// the sink wrote to it; its values are gone, so the sink stops.
	ErrColumnDropped = errors.New("target column was dropped while the sink wrote to it")
	// ErrClosed: the sink was closed.
	ErrClosed = errors.New("clickhouse sink closed")
)

// UnavailableError is a call to ClickHouse that kept failing for the whole bound set by
// Flag (--clickhouse-connect-timeout at the start, --errors-retry-timeout after). It is
// retryable (capture.Retryable): the server may come back, and what the sink did not report
// durable is read again from where the source (Kafka offsets, a replication slot) stands.
type UnavailableError struct {
	Op       string        // what was tried, e.g. "connect", "insert into orders"
	Addr     string        // --clickhouse-addr
	Waited   time.Duration // how long it failed
	Attempts int
	Flag     string // the setting that bounds it
	Start    bool   // at the start (New): no record was taken yet
	Err      error  // the last failure
}

func (e *UnavailableError) Error() string {
	msg := fmt.Sprintf("clickhouse %s at %s: still failing after %s and %d attempts (%s): %v",
		e.Op, e.Addr, e.Waited.Round(time.Millisecond), e.Attempts, e.Flag, e.Err)
	var ex *ch.Exception
	if errors.As(e.Err, &ex) {
		msg += " (the server answered with this error every time)"
	} else {
		msg += " (check that the server is up and reachable from here, and that --clickhouse-addr is its native-protocol port: 9000, or 9440 with TLS)"
	}
	if !e.Start {
		msg += "; nothing is lost: the records not inserted were not acknowledged, so they are read again from the last committed position"
	}
	return msg
}

func (e *UnavailableError) Unwrap() error   { return e.Err }
func (e *UnavailableError) Retryable() bool { return true }
