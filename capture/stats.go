package capture

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Stats are a source's own figures for /metrics, /readyz and the progress display: the source
// writes them, any goroutine reads them. They outlive one open source (a command keeps one
// Stats across reconnects), so a source only adds to counters and sets gauges; it never
// replaces the Stats.
type Stats struct {
	Snapshot      SnapshotStats
	Stream        StreamStats
	SchemaHistory SchemaHistoryStats
	// MariaDB is set by the MySQL/MariaDB source once it has connected to a MariaDB server:
	// Debezium runs those with its MariaDB connector, whose metrics say plugin="mariadb".
	MariaDB atomic.Bool
}

// SnapshotStats is the progress of a snapshot (initial, incremental or blocking), with
// Debezium's snapshot metric names in mind (SnapshotRunning, TotalTableCount, RowsScanned …).
type SnapshotStats struct {
	Running, Completed, Aborted, Paused atomic.Bool
	TotalTables, RemainingTables        atomic.Int64
	StartedUnixNano, EndedUnixNano      atomic.Int64 // 0: not yet
	// WritesBlockedNanos is how long the snapshot blocked writes on the source (MySQL/MariaDB
	// global read lock or backup lock), summed over the snapshots of this process.
	WritesBlockedNanos atomic.Int64
	// BufferedBytes is the bytes of rows the snapshot's readers have read ahead and the source
	// has not handed to the pipeline yet (Debezium's CurrentQueueSizeInBytes for the snapshot);
	// PeakBufferedBytes its highest value in this process, MaxBufferedBytes its bound.
	BufferedBytes, PeakBufferedBytes, MaxBufferedBytes atomic.Int64

	mu     sync.Mutex
	tables map[string]*TableProgress
}

// TableProgress is one table's snapshot progress.
type TableProgress struct {
	Name     string       // as in Debezium's data collection: db.table or schema.table
	Rows     atomic.Int64 // rows read so far
	Estimate atomic.Int64 // rows expected from the catalog; 0: unknown
	Done     atomic.Bool
	// Failed: the table's snapshot ended before its last row (a signal's additional-conditions
	// filter the server failed on some rows); Rows went out, the rest did not.
	Failed atomic.Bool
}

// Table returns name's progress, created on first use.
func (s *SnapshotStats) Table(name string) *TableProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables == nil {
		s.tables = map[string]*TableProgress{}
	}
	t := s.tables[name]
	if t == nil {
		t = &TableProgress{Name: name}
		s.tables[name] = t
	}
	return t
}

// Tables returns every table's progress, sorted by name.
func (s *SnapshotStats) Tables() []*TableProgress {
	s.mu.Lock()
	out := make([]*TableProgress, 0, len(s.tables))
	for _, t := range s.tables {
		out = append(out, t)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *TableProgress) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// StreamStats are the source's view of how far behind the database log it is. -1 (set by the
// source when it starts) or 0 before the first measurement mean unknown.
type StreamStats struct {
	// PostgreSQL: WAL the slot retains (pg_current_wal_lsn() - restart_lsn) and how far the
	// slot's confirmed_flush_lsn is behind pg_current_wal_lsn(), in bytes.
	RetainedWALBytes       atomic.Int64
	ConfirmedFlushLagBytes atomic.Int64
	// MySQL/MariaDB: bytes between the position read and the end of the source's binlog.
	BinlogBytesBehind atomic.Int64
	// LastEventUnixMilli is the database time of the last change read.
	LastEventUnixMilli atomic.Int64
	// DisconnectedUnixMilli is when the source lost its connection to the database log and
	// began reconnecting by itself (MySQL/MariaDB binlog dump); 0 while connected. /readyz and
	// Debezium's Connected read it: the pipeline runs on, but nothing can arrive.
	DisconnectedUnixMilli atomic.Int64
	// DisconnectErr is the error that broke that connection (a string), while disconnected.
	DisconnectErr atomic.Value
}

// SchemaHistoryStats are the MySQL/MariaDB connector's schema history figures, with Debezium's
// schema-history metric names in mind (ChangesRecovered, ChangesApplied …).
type SchemaHistoryStats struct {
	// RecoveryStartUnixMilli is when the history was last read back at an open; 0: never.
	RecoveryStartUnixMilli atomic.Int64
	// ChangesRecovered counts the records read back, over the opens of this process;
	// ChangesApplied the records appended (schema changes captured).
	ChangesRecovered, ChangesApplied atomic.Int64
	// LastRecoveredUnixMilli and LastAppliedUnixMilli are when a record was last read back
	// and last appended; 0: never.
	LastRecoveredUnixMilli, LastAppliedUnixMilli atomic.Int64
}
