package clickhouse

import "errors"

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
