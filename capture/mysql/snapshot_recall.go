package mysql

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/schema"
)

// Recalling what the runs before streamed. A resumed snapshot leaves out the chunk rows whose
// key its stream already sent (resumed.streamed): that change went out with its full row, so
// the chunk row would be the same change again, as op r. Its stream starts at the stored
// offset; when an earlier run had already resumed the snapshot and streamed from the
// snapshot's position to that offset before it was killed, the keys it streamed are not in
// this run's stream. Without them, a chunk read them again: a row inserted after the snapshot
// began reached the sinks as c and then as r (issue 18: --exactly-once read_committed
// duplicates, ~800 of 120,000 rows in torture/eos.sh with SNAP_ROWS=120000).
//
// So before its stream starts, a resumed snapshot reads the binlog once more, from the
// snapshot's position (the newest schema-history record: the snapshot wrote its records there)
// to the binlog's current end, emitting nothing, and notes the keys of the tables left that
// committed transactions changed. Noting a key is right for every transaction in that range:
// one before the stored offset was streamed by an earlier run; one after it is streamed by
// this run's stream before any chunk row goes out, since a chunk's rows go out at a window
// that closes after the chunk was read, later in the binlog than everything read here.
//
// Noting a key that was not streamed would lose its row, so anything uncertain notes
// nothing: no recall when the schema history has a record after the snapshot's (a table's
// definition changed, and the catalog, which is at the stored offset, would decode older rows
// wrongly) or when the stored offset was captured with other table filters; the read stops at
// the first statement that may change a definition, at a TABLE_MAP that does not match the
// catalog, at a decode error, after recallTimeout, and when the keys reach streamedBudget (a
// statement of other databases is read past).
// The keys of XA transactions and of an unfinished transaction are not noted. A row whose key
// is not noted is read again: a duplicate, never a loss.

// recallTimeout bounds the binlog read of recallStreamed: a restart waits at most this long
// (a long snapshot on a busy server has a long binlog behind it); the keys noted until then
// are kept.
const recallTimeout = 30 * time.Second

// streamedBudget bounds the bytes of resumed.streamed, the recalled keys and those this run
// streams (64 MiB: about a million integer keys). Past it a key is not noted, and its row
// is read again by its chunk (a duplicate, never a loss). A variable for tests.
var streamedBudget int64 = 64 << 20

// streamedEntry is what one noted key costs beyond its bytes (the map's string header, its
// slot and the bucket's share).
const streamedEntry = 48

// noteStreamed notes key k of m (a table of rs.streamed) within streamedBudget.
func (rs *resumed) noteStreamed(m map[string]bool, k []byte) bool {
	if m[string(k)] {
		return true
	}
	cost := int64(len(k)) + streamedEntry
	if rs.streamedBytes+cost > streamedBudget {
		if !rs.streamedFull && rs.log != nil {
			rs.log.Warn("snapshot: the keys the stream changed in the tables not read yet fill their memory bound; rows of keys changed from now on "+
				"may be read again by their chunk (op r after the change: a duplicate, never a loss)", "bytes", rs.streamedBytes)
		}
		rs.streamedFull = true
		return false
	}
	m[string(k)] = true
	rs.streamedBytes += cost
	return true
}

// recallStreamed notes in s.resumed.streamed the keys of the tables left that the binlog
// changed from the snapshot's position on (see above). off is the stored offset. It never
// fails the start: whatever goes wrong leaves keys out, which costs duplicates only.
func (s *Source) recallStreamed(ctx context.Context, off *Position) {
	rs := s.resumed
	if rs == nil || rs.incr || len(rs.streamed) == 0 {
		return
	}
	from := s.lastHist
	switch {
	case from == nil || !from.Snapshot:
		s.log.Info("snapshot: the keys streamed before the restart are not recalled: the schema history changed after the snapshot; " +
			"rows changed since the snapshot began may be read again (op r)")
		return
	case !sameFilters(off.Filters, s.filters):
		s.log.Info("snapshot: the keys streamed before the restart are not recalled: the stored offset was captured with other table filters; " +
			"rows changed since the snapshot began may be read again (op r)")
		return
	case off.File == from.File && off.Pos == from.Pos && off.Event == 0 && off.Row == 0:
		return // nothing streamed before: this run's stream starts at the snapshot's position
	case !from.atOrBefore(off, s.gtidContains):
		s.log.Info("snapshot: the keys streamed before the restart are not recalled: the stored offset is not after the snapshot's position in the schema history; "+
			"rows changed since the snapshot began may be read again (op r)", "offset", off.String(), "snapshot", from.String())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, recallTimeout)
	defer cancel()
	began := time.Now()
	rc := newRecall(s)
	err := rc.read(ctx, from)
	attrs := []any{"keys", rc.noted, "binlog_bytes", rc.bytes, "ms", time.Since(began).Milliseconds(), "from", from.String()}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		s.log.Warn("snapshot: recalling the keys streamed before the restart took too long; the rest of the binlog is not read, and rows it changed may be read again (op r)",
			append(attrs, "timeout", recallTimeout.String())...)
	case err != nil:
		s.log.Warn("snapshot: the keys streamed before the restart are not all recalled; rows changed since the snapshot began may be read again (op r)",
			append(attrs, "err", err)...)
	case rc.stop != "":
		s.log.Info("snapshot: recalled the keys streamed before the restart up to "+rc.stop+"; rows changed after it may be read again (op r)", attrs...)
	default:
		s.log.Info("snapshot: recalled the keys streamed before the restart", attrs...)
	}
}

// sameFilters reports whether an offset's captured filters are this run's.
func sameFilters(a, b *TableFilters) bool {
	return a != nil && b != nil && slices.Equal(a.DatabaseInclude, b.DatabaseInclude) && slices.Equal(a.DatabaseExclude, b.DatabaseExclude) &&
		slices.Equal(a.TableInclude, b.TableInclude) && slices.Equal(a.TableExclude, b.TableExclude)
}

// recall is one binlog read of recallStreamed.
type recall struct {
	s      *Source
	rs     *resumed
	tables map[*binlog.TableMap]recallTable
	dbs    map[string]bool // the databases of the tables left, lower case
	// The transaction being read and the keys it changed, noted at its commit.
	inTxn        bool
	pending      []recallKey
	pendingBytes int64
	keyBuf       []byte
	noted        int
	bytes        int64
	stop         string // why the read ended before the binlog's end ("": it did not)
	file         string // the binlog file being read
}

// at is where the event with header h starts, for the log.
func (rc *recall) at(h binlog.Header) string {
	return rc.file + ":" + strconv.FormatUint(uint64(h.LogPos)-uint64(h.EventSize), 10)
}

// keyAvailable reports whether row has every key column.
func keyAvailable(row capture.Row, pk []int) bool {
	for _, i := range pk {
		if i >= len(row) || row[i].Kind == capture.Unavailable {
			return false
		}
	}
	return true
}

// recallTable is a TABLE_MAP's table when it is one of the tables left.
type recallTable struct {
	t *schema.Table
	m map[string]bool // rs.streamed's set of t
}

type recallKey struct {
	m   map[string]bool
	key string
}

func newRecall(s *Source) *recall {
	rc := &recall{s: s, rs: s.resumed, tables: map[*binlog.TableMap]recallTable{}, dbs: map[string]bool{}}
	for id := range rc.rs.streamed {
		rc.dbs[strings.ToLower(id.DB)] = true
	}
	return rc
}

// read dumps the binlog from p to its end (a non-blocking dump) and notes the keys.
func (rc *recall) read(ctx context.Context, p *Position) error {
	s := rc.s
	var set binlog.MySQLGTIDSet
	if p.GTIDs != "" && !s.info.MariaDB {
		var err error
		if set, err = binlog.ParseMySQLGTIDSet(p.GTIDs); err != nil {
			return err
		}
	}
	sp, err := s.dumpStart(p, set)
	if err != nil {
		return err
	}
	cfg := s.replicationConfig()
	cfg.NonBlocking, cfg.AnnotateRows = true, false
	conn, err := replication.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.StartDump(ctx, sp); err != nil {
		return err
	}
	alg, err := binlog.ParseChecksumAlg(conn.Checksum())
	if err != nil {
		return err
	}
	dec := binlog.NewDecoder(binlog.Config{Checksum: alg, EscapeJSON: true})
	for rc.stop == "" {
		raw, err := conn.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rc.bytes += int64(len(raw))
		ev, err := dec.Decode(raw)
		if err != nil {
			return err
		}
		if _, ok := ev.Data.(*binlog.TransactionPayload); ok {
			for rc.stop == "" {
				ev, ok, err := dec.NextInPayload()
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				rc.handle(ev)
			}
			continue
		}
		rc.handle(ev)
	}
	return nil
}

// handle reads one event; it sets rc.stop where the read must end.
func (rc *recall) handle(ev binlog.Event) {
	s := rc.s
	switch d := ev.Data.(type) {
	case *binlog.Rotate:
		rc.file = string(d.NextFile)
	case *binlog.GTID:
		rc.inTxn = false
		rc.drop()
	case *binlog.MariaGTID:
		rc.inTxn = !d.Standalone()
		rc.drop()
	case *binlog.XID:
		rc.commit()
	case *binlog.Query:
		stmt := strings.TrimSpace(string(d.Query))
		up := strings.ToUpper(stmt)
		switch {
		case up == "BEGIN":
			rc.inTxn = true
			rc.drop()
		case up == "COMMIT":
			rc.commit()
		case up == "ROLLBACK" || strings.HasPrefix(up, "XA "):
			// Nothing of a rolled back or XA transaction is noted (an XA transaction's rows
			// come before its XA END, its commit in a group of its own).
			rc.inTxn = strings.HasPrefix(up, "XA START")
			rc.drop()
		case rc.inTxn && !createsTable(up):
			// statement-based work inside a transaction (SAVEPOINT, temporary tables)
		default:
			if _, dml := s.cat.WrittenTables(stmt, string(d.Schema)); (!dml || d.ErrorCode != 0) && rc.mayTouch(string(d.Schema), stmt) {
				// It may change a definition the catalog (at the stored offset) does not
				// have yet: the rows after it are not decoded with it.
				rc.stop = "a statement that may change a table's definition at " + rc.at(ev.Header)
				rc.drop()
			}
		}
	case *binlog.TableMap:
		if _, ok := rc.tables[d]; ok {
			return
		}
		id := schema.TableID{DB: d.Schema, Table: d.Table}
		m, left := rc.rs.streamed[id]
		t := s.cat.Table(id)
		if !left || t == nil || len(t.PrimaryKey) == 0 || (s.sigOn && id == s.sigID) {
			rc.tables[d] = recallTable{}
			return
		}
		if mismatch(t, d) != "" {
			rc.stop = "a change of " + id.String() + " whose definition is not the catalog's at " + rc.at(ev.Header)
			rc.drop()
			return
		}
		d.SetHints(hints(t, s.info.MariaDB))
		rc.tables[d] = recallTable{t: t, m: m}
	case *binlog.RowsEvent:
		if d.Table == nil {
			return
		}
		rt := rc.tables[d.Table]
		if rt.t == nil {
			return
		}
		pk := rt.t.PrimaryKey
		for d.Next() {
			for _, r := range [2]capture.Row{d.Before(), d.After()} {
				// An after image without the key (binlog_row_image=MINIMAL, key unchanged)
				// has it in the before image.
				if r != nil && keyAvailable(r, pk) {
					k := rowKey(&rc.keyBuf, pk, r)
					// A transaction's keys wait for its commit within the bound too.
					if rc.pendingBytes += int64(len(k)) + streamedEntry; rc.rs.streamedBytes+rc.pendingBytes > streamedBudget {
						rc.stop = "the memory bound of the keys"
						rc.drop()
						return
					}
					rc.pending = append(rc.pending, recallKey{rt.m, string(k)})
				}
			}
		}
		if err := d.Err(); err != nil {
			rc.stop = "a row it cannot decode at " + rc.at(ev.Header)
			rc.drop()
		}
	}
}

// mayTouch reports whether a statement run in database db may change a table left: it runs
// in, or names, a database of one. A table is named with its database or runs in it, so a
// statement of other databases (a busy server's other applications) is read past; a false
// alarm costs duplicates only.
func (rc *recall) mayTouch(db, stmt string) bool {
	if rc.dbs[strings.ToLower(db)] {
		return true
	}
	low := strings.ToLower(stmt)
	for name := range rc.dbs {
		if containsName(low, name) {
			return true
		}
	}
	return false
}

// containsName reports whether name occurs in s as a whole identifier (not inside a longer one).
func containsName(s, name string) bool {
	for i := 0; name != ""; {
		j := strings.Index(s[i:], name)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(name)
		if (j == 0 || !identByte(s[j-1])) && (end == len(s) || !identByte(s[end])) {
			return true
		}
		i = j + 1
	}
	return false
}

// identByte reports whether c can be part of an unquoted identifier.
func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// commit notes the keys of the transaction that ends.
func (rc *recall) commit() {
	for _, k := range rc.pending {
		if !rc.rs.noteStreamed(k.m, []byte(k.key)) {
			rc.stop = "the memory bound of the keys"
			break
		}
		rc.noted++
	}
	rc.inTxn = false
	rc.drop()
}

// drop forgets the keys of the transaction being read.
func (rc *recall) drop() { rc.pending, rc.pendingBytes = rc.pending[:0], 0 }
