package mysql

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/capture"
)

// Position is a MySQL/MariaDB resume point, written as Debezium's offset (spec §8.1).
// Inside a transaction File/Pos is the transaction's first event, GTIDs the set completed
// before it, Event the number of its events already processed and Row the rows of the next
// event already emitted; after a commit File/Pos is the next event and Event/Row are zero.
type Position struct {
	File     string
	Pos      uint64
	GTIDs    string
	Event    int64
	Row      int64
	TsSec    int64
	ServerID uint32
	// Snapshot marks positions of events emitted while the initial snapshot runs; a restart
	// from one resumes the snapshot (SnapTable set and a signal table to write watermarks to)
	// or runs it again.
	Snapshot bool

	// Snapshot progress (sluice's own keys; Debezium ignores keys it does not know). Tables are
	// read in (database, table) order: every table before SnapDB.SnapTable is complete, and of
	// that table every row whose primary key is ≤ SnapAfter (the key columns' values as the
	// text protocol sends them, hex-encoded, in key order; nil: none yet). Written only while
	// Snapshot is set.
	SnapDB    string   // snapshot_db
	SnapTable string   // snapshot_table
	SnapAfter []string // snapshot_after

	// Incremental snapshot progress (snapshot_incremental.go; sluice's own keys): the tables
	// left (db.table, the first being read), the first one's last emitted key (hex, as
	// SnapAfter), the additional conditions by table and whether a pause-snapshot signal
	// paused it (a restart keeps it paused). While the rest of an initial snapshot runs
	// (Snapshot set), IncrTables and IncrFilters are an incremental snapshot signalled
	// meanwhile and queued after it.
	IncrTables  []string          // incremental_snapshot_tables
	IncrAfter   []string          // incremental_snapshot_after
	IncrFilters map[string]string // incremental_snapshot_filters
	IncrPaused  bool              // incremental_snapshot_paused

	// BlockTables are the tables (db.table) left of the blocking snapshot in progress or
	// queued (snapshot_blocking.go), BlockFilters their additional conditions, BlockAfter the
	// first table's last key read (hex, as SnapAfter; nil: none): a restart reads them from
	// there at the next transaction boundary, then streams on. The rows of a blocking
	// snapshot carry the position streaming paused at.
	BlockTables  []string          // blocking_snapshot_tables
	BlockFilters map[string]string // blocking_snapshot_filters
	BlockAfter   []string          // blocking_snapshot_after

	// SignalOffset is the next offset of the Kafka signal topic to read (every signal before
	// it was acted on before this position), when HasSignalOffset (signal_kafka_offset).
	SignalOffset    int64
	HasSignalOffset bool

	// Filters are the include/exclude lists the position was captured with (captured_filters,
	// sluice's own key): a restart with other lists snapshots the tables they newly capture
	// (newtables.go). Shared by every position of a run: never changed in place.
	Filters *TableFilters

	// rereads marks a position that does not cover its own event (capture.Rereader): the
	// rows of a snapshot batch before its last carry the progress made before the batch. Not
	// part of the offset: a restart from it re-reads those rows, which is all it says.
	rereads bool
}

// TableFilters are the table filters of Config, as a position records them.
type TableFilters struct {
	DatabaseInclude []string `json:"database_include,omitempty"`
	DatabaseExclude []string `json:"database_exclude,omitempty"`
	TableInclude    []string `json:"table_include,omitempty"`
	TableExclude    []string `json:"table_exclude,omitempty"`
}

var _ capture.Position = (*Position)(nil)

// Rereads reports whether a restart from p hands out p's own event again (capture.Rereader):
// an exactly-once sink does not commit there.
func (p *Position) Rereads() bool { return p.rereads }

// AppendOffset appends the offset JSON object.
func (p *Position) AppendOffset(b []byte) []byte { return p.appendOffset(b, p.Row) }

// appendOffset is AppendOffset with row in place of p.Row (rowPos's shared base).
func (p *Position) appendOffset(b []byte, row int64) []byte {
	b = append(b, `{"file":`...)
	b = strconv.AppendQuote(b, p.File)
	b = append(b, `,"pos":`...)
	b = strconv.AppendUint(b, p.Pos, 10)
	if p.GTIDs != "" {
		b = append(b, `,"gtids":`...)
		q, _ := json.Marshal(p.GTIDs)
		b = append(b, q...)
	}
	if p.Event != 0 {
		b = append(b, `,"event":`...)
		b = strconv.AppendInt(b, p.Event, 10)
	}
	if row != 0 {
		b = append(b, `,"row":`...)
		b = strconv.AppendInt(b, row, 10)
	}
	if p.ServerID != 0 {
		b = append(b, `,"server_id":`...)
		b = strconv.AppendUint(b, uint64(p.ServerID), 10)
	}
	b = append(b, `,"ts_sec":`...)
	b = strconv.AppendInt(b, p.TsSec, 10)
	if p.Snapshot {
		b = append(b, `,"snapshot":"INITIAL"`...)
		if p.SnapTable != "" {
			b = append(b, `,"snapshot_db":`...)
			q, _ := json.Marshal(p.SnapDB)
			b = append(b, q...)
			b = append(b, `,"snapshot_table":`...)
			q, _ = json.Marshal(p.SnapTable)
			b = append(b, q...)
			if p.SnapAfter != nil {
				b = append(b, `,"snapshot_after":`...)
				q, _ = json.Marshal(p.SnapAfter)
				b = append(b, q...)
			}
		}
	}
	if len(p.IncrTables) > 0 {
		q, _ := json.Marshal(p.IncrTables)
		b = append(b, `,"incremental_snapshot_tables":`...)
		b = append(b, q...)
		if p.IncrAfter != nil {
			q, _ = json.Marshal(p.IncrAfter)
			b = append(b, `,"incremental_snapshot_after":`...)
			b = append(b, q...)
		}
		if len(p.IncrFilters) > 0 {
			q, _ = json.Marshal(p.IncrFilters) // map keys sorted: stable
			b = append(b, `,"incremental_snapshot_filters":`...)
			b = append(b, q...)
		}
		if p.IncrPaused {
			b = append(b, `,"incremental_snapshot_paused":true`...)
		}
	}
	if len(p.BlockTables) > 0 {
		q, _ := json.Marshal(p.BlockTables)
		b = append(b, `,"blocking_snapshot_tables":`...)
		b = append(b, q...)
		if len(p.BlockFilters) > 0 {
			q, _ = json.Marshal(p.BlockFilters)
			b = append(b, `,"blocking_snapshot_filters":`...)
			b = append(b, q...)
		}
		if p.BlockAfter != nil {
			q, _ = json.Marshal(p.BlockAfter)
			b = append(b, `,"blocking_snapshot_after":`...)
			b = append(b, q...)
		}
	}
	if p.HasSignalOffset {
		b = append(b, `,"signal_kafka_offset":`...)
		b = strconv.AppendInt(b, p.SignalOffset, 10)
	}
	if p.Filters != nil {
		q, _ := json.Marshal(p.Filters)
		b = append(b, `,"captured_filters":`...)
		b = append(b, q...)
	}
	return append(b, '}')
}

// String is the offset JSON.
func (p *Position) String() string { return string(p.AppendOffset(nil)) }

// rowPos is the position of one streamed row on the common path (no snapshot running or
// queued, no Kafka signal channel): base, shared by the rows of one rows event and never
// changed once handed out, with this row's count in place of base.Row. 16 bytes a row
// instead of a Position's ~240: that allocation was the stream path's largest, over half of
// the bytes it allocated, and its share of the collector's work.
type rowPos struct {
	base *Position
	row  int64
}

var _ capture.Position = (*rowPos)(nil)

// AppendOffset appends the offset JSON object, the same bytes as full's.
func (r *rowPos) AppendOffset(b []byte) []byte { return r.base.appendOffset(b, r.row) }

// String is the offset JSON.
func (r *rowPos) String() string { return string(r.AppendOffset(nil)) }

// full is the row's position as a Position of its own.
func (r *rowPos) full() *Position {
	p := *r.base
	p.Row = r.row
	return &p
}

// ParsePosition reads an offset written by AppendOffset or by Debezium (snapshot may be the
// boolean true of Debezium ≤ 3.0.1).
func ParsePosition(b []byte) (*Position, error) {
	var w struct {
		File      string          `json:"file"`
		Pos       json.Number     `json:"pos"`
		GTIDs     *string         `json:"gtids"`
		Event     json.Number     `json:"event"`
		Row       json.Number     `json:"row"`
		TsSec     json.Number     `json:"ts_sec"`
		ServerID  json.Number     `json:"server_id"`
		Snapshot  json.RawMessage `json:"snapshot"`
		SnapDB    string          `json:"snapshot_db"`
		SnapTable string          `json:"snapshot_table"`
		SnapAfter []string        `json:"snapshot_after"`

		IncrTables  []string          `json:"incremental_snapshot_tables"`
		IncrAfter   []string          `json:"incremental_snapshot_after"`
		IncrFilters map[string]string `json:"incremental_snapshot_filters"`
		IncrPaused  bool              `json:"incremental_snapshot_paused"`

		BlockTables  []string          `json:"blocking_snapshot_tables"`
		BlockFilters map[string]string `json:"blocking_snapshot_filters"`
		BlockAfter   []string          `json:"blocking_snapshot_after"`

		SignalOffset *json.Number `json:"signal_kafka_offset"`

		Filters *TableFilters `json:"captured_filters"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("mysql offset %s: %w", b, err)
	}
	p := &Position{File: w.File, Filters: w.Filters}
	num := func(n json.Number) int64 {
		if n == "" {
			return 0
		}
		v, _ := n.Int64()
		return v
	}
	p.Pos = uint64(num(w.Pos))
	if w.GTIDs != nil {
		p.GTIDs = strings.TrimSpace(*w.GTIDs)
	}
	p.Event, p.Row, p.TsSec = num(w.Event), num(w.Row), num(w.TsSec)
	p.ServerID = uint32(num(w.ServerID))
	s := strings.TrimSpace(string(w.Snapshot))
	p.Snapshot = s == "true" || s == `"INITIAL"` || s == `"BLOCKING"` || s == `"true"`
	if p.Snapshot {
		p.SnapDB, p.SnapTable, p.SnapAfter = w.SnapDB, w.SnapTable, w.SnapAfter
		for _, k := range p.SnapAfter {
			if _, err := hex.DecodeString(k); err != nil {
				return nil, fmt.Errorf("mysql offset %s: snapshot_after %q is not hex", b, k)
			}
		}
	}
	if len(w.IncrTables) > 0 {
		p.IncrTables, p.IncrAfter, p.IncrFilters, p.IncrPaused = w.IncrTables, w.IncrAfter, w.IncrFilters, w.IncrPaused
		for _, k := range p.IncrAfter {
			if _, err := hex.DecodeString(k); err != nil {
				return nil, fmt.Errorf("mysql offset %s: incremental_snapshot_after %q is not hex", b, k)
			}
		}
	}
	if len(w.BlockTables) > 0 {
		p.BlockTables, p.BlockFilters, p.BlockAfter = w.BlockTables, w.BlockFilters, w.BlockAfter
		for _, k := range p.BlockAfter {
			if _, err := hex.DecodeString(k); err != nil {
				return nil, fmt.Errorf("mysql offset %s: blocking_snapshot_after %q is not hex", b, k)
			}
		}
	}
	if w.SignalOffset != nil {
		v, err := w.SignalOffset.Int64()
		if err != nil || v < 0 {
			return nil, fmt.Errorf("mysql offset %s: signal_kafka_offset %q is not an offset", b, w.SignalOffset.String())
		}
		p.SignalOffset, p.HasSignalOffset = v, true
	}
	if p.File == "" && p.GTIDs == "" {
		return nil, fmt.Errorf("mysql offset %s: neither file nor gtids", b)
	}
	return p, nil
}

// before reports whether p is at or before q in the binlog (history replay). With both GTID
// sets known it compares them; otherwise file/pos/event/row.
func (p *Position) atOrBefore(q *Position, contains func(a, b string) (bool, bool)) bool {
	if p.GTIDs != "" && q.GTIDs != "" && contains != nil {
		if c, ok := contains(q.GTIDs, p.GTIDs); ok {
			if !c {
				return false
			}
			if p.GTIDs != q.GTIDs {
				return true
			}
		}
	}
	if c := compareFiles(p.File, q.File); c != 0 {
		return c < 0
	}
	if p.Pos != q.Pos {
		return p.Pos < q.Pos
	}
	if p.Event != q.Event {
		return p.Event < q.Event
	}
	return p.Row <= q.Row
}

// compareFiles orders binlog file names by their numeric suffix.
func compareFiles(a, b string) int {
	if a == b {
		return 0
	}
	ia, ib := strings.LastIndexByte(a, '.'), strings.LastIndexByte(b, '.')
	if ia >= 0 && ib >= 0 && a[:ia] == b[:ib] {
		na, ea := strconv.ParseUint(a[ia+1:], 10, 64)
		nb, eb := strconv.ParseUint(b[ib+1:], 10, 64)
		if ea == nil && eb == nil {
			switch {
			case na < nb:
				return -1
			case na > nb:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(a, b)
}
