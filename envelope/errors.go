package envelope

import (
	"fmt"

	"github.com/sluicecdc/sluice/capture"
)

// ValueError says that a captured column value cannot be written under the column's Connect
// schema: a value of another kind than the mapping expects, a special number the schema cannot
// hold, more fraction digits than the column scale. The same value fails on every retry, so the
// error is not retryable; the pipeline's event.processing.failure.handling.mode decides whether
// it stops the connector (fail, the default) or the event is skipped (warn, skip).
type ValueError struct {
	Table  string // data collection: db.table or schema.table
	Column string
	Key    bool   // the column was being written as part of the record key
	Type   string // the column type as declared, e.g. "bit varying(1)"
	Kind   string // the kind of the captured value, e.g. "bool"
	Schema string // the Connect schema type and name, e.g. "bytes io.debezium.data.Bits"
	Err    error
}

func (e *ValueError) Error() string {
	what := "column"
	if e.Key {
		what = "key column"
	}
	return fmt.Sprintf("%s %s of %s (type %s, %s value, Connect schema %s): %v",
		what, e.Column, e.Table, e.Type, e.Kind, e.Schema, e.Err)
}

func (e *ValueError) Unwrap() error { return e.Err }

// Retryable is false: the value is the same on the next attempt.
func (e *ValueError) Retryable() bool { return false }

var kindNames = [...]string{
	capture.Null: "null", capture.Bool: "bool", capture.Int: "int", capture.Uint: "uint",
	capture.Float32: "float32", capture.Float64: "float64", capture.Decimal: "decimal",
	capture.String: "string", capture.Bytes: "bytes", capture.JSON: "json", capture.Date: "date",
	capture.Time: "time", capture.TimeTZ: "timetz", capture.Timestamp: "timestamp",
	capture.TimestampTZ: "timestamptz", capture.Interval: "interval", capture.Bits: "bits",
	capture.Geometry: "geometry", capture.Array: "array", capture.Vector: "vector",
	capture.Unavailable: "unavailable", capture.EscapedJSON: "json",
}

// KindName names a capture.Kind for error messages.
func KindName(k capture.Kind) string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// schemaText is a Connect schema's type and name, for error messages.
func schemaText(c *Connect) string {
	if c == nil {
		return "(none)"
	}
	if c.Name == "" {
		return c.Type.String()
	}
	return c.Type.String() + " " + c.Name
}
