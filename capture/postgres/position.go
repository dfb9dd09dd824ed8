package postgres

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pglogrepl"
	"github.com/sluicecdc/sluice/capture"
)

// Position is a resume point in the PostgreSQL connector's offset format (spec §8.2).
//
// CommitLSN (lsn_commit) is the end LSN of the last transaction that was completely emitted up
// to this event: it is what the slot is confirmed to once the position is acknowledged, and
// where streaming restarts. Within a transaction, LSN (lsn) is the LSN of the last emitted
// change, Events (lsn_events_processed) how many events were emitted at that LSN, and TxID the
// transaction: on restart the transaction is decoded again and exactly those events are
// skipped.
type Position struct {
	LSN       uint64 // lsn
	ProcLSN   uint64 // lsn_proc
	CommitLSN uint64 // lsn_commit
	// LastCommit is the end LSN of the last commit emitted when CommitLSN is a later idle
	// position (lsn_last_commit, sluice's own key; 0: CommitLSN is it). A restart there sets
	// source.sequence[0] of the transactions sent again to it, as on their first sending.
	LastCommit uint64
	TxID       int64  // txId (0 = none)
	TsMicros   int64  // ts_usec
	Type       string // messageType: BEGIN, INSERT, UPDATE, DELETE, TRUNCATE, MESSAGE, COMMIT, HEARTBEAT
	Events     int    // lsn_events_processed

	// Snapshot state.
	Snapshot          bool // snapshot: "INITIAL" while the snapshot runs
	LastSnapshotRow   bool // last_snapshot_record
	SnapshotCompleted bool // snapshot_completed
	// HasSignalOffset says SignalOffset is set (beside the other flags: a position is made
	// per event, its padding costs).
	HasSignalOffset bool
	// rereads marks a position that does not cover its own event (capture.Rereader): the
	// rows of a snapshot batch before its last carry the progress made before the batch, a
	// resumed chunk's rows the progress at its last mark. Not part of the offset: a restart
	// from it reads those rows again, which is all it says.
	rereads bool

	// Snapshot progress (sluice's own keys; Debezium ignores keys it does not know). Tables are
	// read in (schema, table) order: every table before SnapSchema.SnapTable is complete, and
	// of that table every row whose primary key is ≤ SnapAfter (the key columns' text, in key
	// order; none: no row yet). A restart resumes there (chunk.go) instead of starting over.
	SnapSchema string   // snapshot_schema
	SnapTable  string   // snapshot_table
	SnapAfter  []string // snapshot_after
	// SnapSlot is set on the offset saved right after the slot of a snapshot was created
	// (Config.SaveOffset), before any row: the snapshot is resumable from its first table
	// through that slot (snapshot_slot).
	SnapSlot string // snapshot_slot
	// SnapXids is the initial snapshot's transaction list (pg_snapshot text), kept while a
	// table without a key is left: a resumed read leaves out the versions it did not see
	// (keyless.go; snapshot_xids). "": not recorded.
	SnapXids string

	// Incremental snapshot progress (incremental.go; sluice's own keys): the tables left in
	// order (schema.table), the first one's last emitted key (key columns' text), each
	// table's additional condition, and whether a pause-snapshot signal paused it (a restart
	// keeps it paused).
	IncrTables  []string          // incremental_snapshot_tables
	IncrAfter   []string          // incremental_snapshot_after
	IncrFilters map[string]string // incremental_snapshot_filters
	IncrPaused  bool              // incremental_snapshot_paused

	// Blocking is the blocking snapshot in progress (blocking.go); nil: none.
	Blocking *BlockingProgress

	// Filters are the include/exclude lists the position was captured with
	// (captured_filters): a restart snapshots the tables they left out and the new lists
	// take in (newtables.go). nil: not recorded (an older offset).
	Filters *TableFilters

	// SignalOffset is the next offset of the Kafka signal topic to read (every signal before
	// it was acted on before this position), when HasSignalOffset (signal_kafka_offset).
	SignalOffset int64
}

// BlockingProgress is a blocking snapshot in progress (sluice's own keys): the tables it has
// left to read (schema.table), in order, their additional conditions, and the first one's
// last key read (the key columns' text, in key order; nil: none). Streaming paused at the
// position's CommitLSN; a restart reads the tables from there before it streams on.
type BlockingProgress struct {
	Tables  []string          // blocking_snapshot_tables
	Filters map[string]string // blocking_snapshot_filters
	After   []string          // blocking_snapshot_after
}

// AppendOffset writes the offset JSON object.
func (p *Position) AppendOffset(dst []byte) []byte {
	dst = append(dst, `{"lsn":`...)
	dst = strconv.AppendUint(dst, p.LSN, 10)
	if p.ProcLSN != 0 {
		dst = append(dst, `,"lsn_proc":`...)
		dst = strconv.AppendUint(dst, p.ProcLSN, 10)
	}
	if p.CommitLSN != 0 {
		dst = append(dst, `,"lsn_commit":`...)
		dst = strconv.AppendUint(dst, p.CommitLSN, 10)
	}
	if p.LastCommit != 0 && p.LastCommit != p.CommitLSN {
		dst = append(dst, `,"lsn_last_commit":`...)
		dst = strconv.AppendUint(dst, p.LastCommit, 10)
	}
	if p.TxID != 0 {
		dst = append(dst, `,"txId":`...)
		dst = strconv.AppendInt(dst, p.TxID, 10)
	}
	dst = append(dst, `,"ts_usec":`...)
	dst = strconv.AppendInt(dst, p.TsMicros, 10)
	if p.Type != "" {
		dst = append(dst, `,"messageType":"`...)
		dst = append(dst, p.Type...)
		dst = append(dst, '"')
	}
	if p.Events != 0 {
		dst = append(dst, `,"lsn_events_processed":`...)
		dst = strconv.AppendInt(dst, int64(p.Events), 10)
	}
	if p.Snapshot {
		dst = append(dst, `,"snapshot":"INITIAL","last_snapshot_record":`...)
		dst = strconv.AppendBool(dst, p.LastSnapshotRow)
	}
	if p.SnapshotCompleted {
		dst = append(dst, `,"snapshot_completed":true`...)
	}
	if p.Snapshot && p.SnapTable != "" {
		// json.Marshal of strings never fails; it is not on a hot path (a snapshot stores one
		// offset per flush).
		b, _ := json.Marshal(p.SnapSchema)
		dst = append(append(dst, `,"snapshot_schema":`...), b...)
		b, _ = json.Marshal(p.SnapTable)
		dst = append(append(dst, `,"snapshot_table":`...), b...)
		if p.SnapAfter != nil {
			b, _ = json.Marshal(p.SnapAfter)
			dst = append(append(dst, `,"snapshot_after":`...), b...)
		}
	}
	if p.Snapshot && p.SnapXids != "" {
		b, _ := json.Marshal(p.SnapXids)
		dst = append(append(dst, `,"snapshot_xids":`...), b...)
	}
	if p.Snapshot && p.SnapSlot != "" {
		b, _ := json.Marshal(p.SnapSlot)
		dst = append(append(dst, `,"snapshot_slot":`...), b...)
	}
	if len(p.IncrTables) > 0 {
		b, _ := json.Marshal(p.IncrTables)
		dst = append(append(dst, `,"incremental_snapshot_tables":`...), b...)
		if p.IncrAfter != nil {
			b, _ = json.Marshal(p.IncrAfter)
			dst = append(append(dst, `,"incremental_snapshot_after":`...), b...)
		}
		if len(p.IncrFilters) > 0 {
			b, _ = json.Marshal(p.IncrFilters)
			dst = append(append(dst, `,"incremental_snapshot_filters":`...), b...)
		}
		if p.IncrPaused {
			dst = append(dst, `,"incremental_snapshot_paused":true`...)
		}
	}
	if p.Blocking != nil && len(p.Blocking.Tables) > 0 {
		b, _ := json.Marshal(p.Blocking.Tables)
		dst = append(append(dst, `,"blocking_snapshot_tables":`...), b...)
		if len(p.Blocking.Filters) > 0 {
			b, _ = json.Marshal(p.Blocking.Filters)
			dst = append(append(dst, `,"blocking_snapshot_filters":`...), b...)
		}
		if p.Blocking.After != nil {
			b, _ = json.Marshal(p.Blocking.After)
			dst = append(append(dst, `,"blocking_snapshot_after":`...), b...)
		}
	}
	if p.Filters != nil {
		b, _ := json.Marshal(p.Filters)
		dst = append(append(dst, `,"captured_filters":`...), b...)
	}
	if p.HasSignalOffset {
		dst = append(dst, `,"signal_kafka_offset":`...)
		dst = strconv.AppendInt(dst, p.SignalOffset, 10)
	}
	return append(dst, '}')
}

// String is for logs.
func (p *Position) String() string {
	return fmt.Sprintf("lsn=%s commit=%s tx=%d events=%d", pglogrepl.LSN(p.LSN), pglogrepl.LSN(p.CommitLSN), p.TxID, p.Events)
}

// ParseOffset reads an offset written by AppendOffset or by Debezium's PostgreSQL connector
// (where snapshot may be true or "INITIAL"/"BLOCKING").
func ParseOffset(b []byte) (*Position, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("postgres offset %q: %w", b, err)
	}
	p := &Position{}
	var blocking BlockingProgress
	num := func(k string, dst any) error {
		v, ok := raw[k]
		if !ok || string(v) == "null" {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("postgres offset key %s: %w", k, err)
		}
		return nil
	}
	for k, dst := range map[string]any{"lsn": &p.LSN, "lsn_proc": &p.ProcLSN, "lsn_commit": &p.CommitLSN, "lsn_last_commit": &p.LastCommit, "txId": &p.TxID,
		"ts_usec": &p.TsMicros, "messageType": &p.Type, "lsn_events_processed": &p.Events,
		"last_snapshot_record": &p.LastSnapshotRow, "snapshot_completed": &p.SnapshotCompleted,
		"snapshot_schema": &p.SnapSchema, "snapshot_table": &p.SnapTable, "snapshot_after": &p.SnapAfter, "snapshot_slot": &p.SnapSlot, "snapshot_xids": &p.SnapXids,
		"incremental_snapshot_tables": &p.IncrTables, "incremental_snapshot_after": &p.IncrAfter, "incremental_snapshot_filters": &p.IncrFilters,
		"incremental_snapshot_paused": &p.IncrPaused, "blocking_snapshot_tables": &blocking.Tables, "blocking_snapshot_filters": &blocking.Filters, "blocking_snapshot_after": &blocking.After, "captured_filters": &p.Filters} {
		if err := num(k, dst); err != nil {
			return nil, err
		}
	}
	if len(blocking.Tables) > 0 {
		p.Blocking = &blocking
	}
	if _, ok := raw["signal_kafka_offset"]; ok {
		if err := num("signal_kafka_offset", &p.SignalOffset); err != nil {
			return nil, err
		}
		p.HasSignalOffset = true
	}
	if v, ok := raw["snapshot"]; ok {
		s := string(v)
		p.Snapshot = s == "true" || s == `"INITIAL"` || s == `"BLOCKING"`
	}
	if p.LSN == 0 && p.CommitLSN == 0 && p.ProcLSN == 0 && !p.Snapshot {
		return nil, fmt.Errorf("postgres offset %q has no lsn", b)
	}
	return p, nil
}

var _ capture.Position = (*Position)(nil)

// Rereads reports whether a restart from p hands out p's own event again (capture.Rereader):
// an exactly-once sink does not commit there.
func (p *Position) Rereads() bool { return p.rereads }

// TableFilters are the table filters of Config, as a position records them.
type TableFilters struct {
	SchemaInclude []string `json:"schema_include,omitempty"`
	TableInclude  []string `json:"table_include,omitempty"`
	TableExclude  []string `json:"table_exclude,omitempty"`
}

func (f *TableFilters) equal(g *TableFilters) bool {
	return slices.Equal(f.SchemaInclude, g.SchemaInclude) && slices.Equal(f.TableInclude, g.TableInclude) && slices.Equal(f.TableExclude, g.TableExclude)
}

// LSNEvent is the ordinal of the position's change among the events at its LSN
// (lsn_events_processed): the encoder puts it on the records of tables without a key, so the
// ClickHouse sink can tell the identical rows of one multi-row insert apart in any replay.
func (p *Position) LSNEvent() int { return p.Events }
