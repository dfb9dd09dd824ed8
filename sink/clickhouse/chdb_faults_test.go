//go:build chdb && integration

package clickhouse

// Fault scenarios that only show on ClickHouse ≥ 23.2 (insert deduplication tokens, the
// modern ReplacingMergeTree), run in chDB like chdb_test.go:
//
//	CHDB_LIB_PATH=/path/to/libchdb.so go test -tags "integration chdb" -run Chdb ./sink/clickhouse/

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// chdbTable creates table name in db as the sink would for first's schema and returns a Sink
// without a connection that knows the table, so that apply never needs a server; merges are
// stopped, so count() shows what the inserts stored.
func chdbTable(t *testing.T, q func(string) string, db, name string, first envelope.Record) *Sink {
	t.Helper()
	s := &Sink{modern: true, cfg: Config{BatchRows: 1 << 30, BatchBytes: 1 << 62, FlushInterval: time.Hour},
		log: slog.New(slog.DiscardHandler), tables: map[string]*table{}, cache: schemaCache{modern: true, m: map[string]*envSchema{}}}
	s.cfg.setDefaults()
	c, ok, err := parseChange(&s.cache, first.Key, first.Value)
	if err != nil || !ok || c.schema == nil || c.schema.err != nil {
		t.Fatalf("parse: %v %v", ok, err)
	}
	keys := c.schema.keys
	q("CREATE DATABASE IF NOT EXISTS " + db)
	q("DROP TABLE IF EXISTS " + db + "." + quoteIdent(name))
	q(createTableSQL(db, name, c.schema.cols, keys, true))
	q("SYSTEM STOP MERGES " + db + "." + quoteIdent(name))
	tb := &table{name: name, exists: true, cols: map[string]string{}, keys: keys, binds: map[*envSchema]*binding{}}
	for _, l := range strings.Split(strings.TrimSpace(q("SELECT name, type FROM system.columns WHERE database = '"+db+"' AND table = '"+name+"' ORDER BY position")), "\n") {
		nt := strings.SplitN(l, "\t", 2)
		tb.cols[nt[0]] = nt[1]
		tb.order = append(tb.order, nt[0])
	}
	s.tables[name] = tb
	return s
}

// chdbInsert applies recs and inserts the table's batch with the sink's dedup token, then
// inserts it once more, as a retry after a lost acknowledgement would, and checks that the
// server dropped the retry.
func chdbInsert(t *testing.T, q func(string) string, s *Sink, db, name string, recs []envelope.Record) {
	t.Helper()
	chdbInsertAs(t, q, s, db, name, recs, true)
}

// chdbInsertAs is chdbInsert; with fresh false the block may repeat an earlier one (a replay),
// which the server may then drop.
func chdbInsertAs(t *testing.T, q func(string) string, s *Sink, db, name string, recs []envelope.Record, fresh bool) {
	t.Helper()
	for i := range recs {
		if err := s.apply(context.Background(), &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	tb := s.tables[name]
	if st := s.Stats(); st.Parked != 0 {
		t.Fatalf("%d records parked", st.Parked)
	}
	tok := "SETTINGS insert_deduplication_token = " + quoteString(tb.batch.token(name))
	count := "SELECT count() FROM " + db + "." + quoteIdent(name)
	before := q(count)
	q(insertSQL(db, name, tb.batch, tok))
	stored := q(count)
	if fresh && stored == before {
		t.Fatalf("insert of %d rows stored nothing (count %s): the server deduplicated a new block", tb.batch.rows(), strings.TrimSpace(stored))
	}
	q(insertSQL(db, name, tb.batch, tok))
	if again := q(count); again != stored {
		t.Fatalf("retried insert stored rows again: %s → %s", strings.TrimSpace(stored), strings.TrimSpace(again))
	}
	tb.batch = newBatch(tb.batch.bind)
	s.rows, s.bytes, s.order, s.tokens = 0, 0, s.order[:0], nil
}

// TestChdbSnapshotBatchesAtOnePosition: a snapshot's rows all carry one source position, so
// the batches of one table differ only in their rows; each must land, and a retry of one must
// not.
func TestChdbSnapshotBatchesAtOnePosition(t *testing.T) {
	q := chdbQuery(t)
	tb := ttable{topic: "srv.public.items", db: "shop", schema: "public", table: "items", pg: true,
		fields: []tfield{{name: "id", typ: "int32"}, {name: "note", typ: "string", optional: true}}, keys: []string{"id"}}
	snap := func(from, to int) []envelope.Record {
		var recs []envelope.Record
		for id := from; id < to; id++ {
			recs = append(recs, tb.record("r", nil, row{"id", id, "note", fmt.Sprint("n", id)}, 5000, true))
		}
		return recs
	}
	s := chdbTable(t, q, "cdc_snap", "items", snap(1, 2)[0])
	for lo := 1; lo < 1000; lo += 250 {
		chdbInsert(t, q, s, "cdc_snap", "items", snap(lo, lo+250))
	}
	if got := strings.TrimSpace(q("SELECT count(), min(id), max(id), uniqExact(id) FROM cdc_snap.items FINAL")); got != "1000\t1\t1000\t1000" {
		t.Fatalf("count, min, max, distinct ids after 4 snapshot batches: %s, want 1000 rows", got)
	}
}

// TestChdbKeylessTableKeepsEveryRow: on the modern layout too, a table without a key keeps
// every row of a snapshot (one position) and of a multi-row statement (one LSN), identical
// rows included.
func TestChdbKeylessTableKeepsEveryRow(t *testing.T) {
	q := chdbQuery(t)
	tb := ttable{topic: "srv.public.events", db: "shop", schema: "public", table: "events", pg: true,
		fields: []tfield{{name: "kind", typ: "string"}, {name: "n", typ: "int32", optional: true}}}
	keyless := func(op string, after row, pos int64) envelope.Record {
		r := tb.record(op, nil, after, pos, true)
		r.Key = nil // Debezium sends no key for a table without a primary key
		return r
	}
	recs := []envelope.Record{
		keyless("r", row{"kind", "a", "n", 1}, 700),
		keyless("r", row{"kind", "a", "n", 1}, 700),
		keyless("r", row{"kind", "b", "n", 2}, 700),
		keyless("c", row{"kind", "c", "n", 3}, 900),
		keyless("c", row{"kind", "d", "n", 4}, 900),
	}
	s := chdbTable(t, q, "cdc_keyless", "events", recs[0])
	chdbInsert(t, q, s, "cdc_keyless", "events", recs)
	got := strings.ReplaceAll(strings.TrimSpace(q("SELECT kind, n FROM cdc_keyless.events FINAL ORDER BY kind, n")), "\n", "|")
	if want := "a\t1|a\t1|b\t2|c\t3|d\t4"; got != want {
		t.Fatalf("rows %q, want %q", got, want)
	}
}

// TestChdbVersionsFollowCommitOrder: the version cases of the 18.16 test on the modern
// layout, one batch each.
func TestChdbVersionsFollowCommitOrder(t *testing.T) {
	q := chdbQuery(t)
	for i, c := range versionCases() {
		t.Run(c.name, func(t *testing.T) {
			db := fmt.Sprintf("cdc_versions_%d", i)
			s := chdbTable(t, q, db, "acct", c.recs[0])
			for j := range c.recs { // one insert per record: every version in its own part
				chdbInsertAs(t, q, s, db, "acct", c.recs[j:j+1], false)
			}
			got := strings.ReplaceAll(strings.TrimSpace(q("SELECT concat(toString(id), ' ', name) FROM "+db+".acct FINAL ORDER BY id")), "\n", "|")
			if got != c.want {
				t.Fatalf("rows %q, want %q", got, c.want)
			}
		})
	}
}

// TestChdbKeylessSnapshotResumed: a snapshot interrupted in a table without a key is read again
// from the table's start by the resumed run, at other positions (PostgreSQL: each chunk at its
// window's LSN, between streamed changes of the table), in a new upstream session or (an
// upstream without producer sessions) in the same one, its first read marked
// first_in_data_collection. The table must end with each row once and the twins twice: before
// the reads of a keyless table shared one version, the first attempt's rows were stored again
// at the new positions.
func TestChdbKeylessSnapshotResumed(t *testing.T) {
	q := chdbQuery(t)
	tb := ttable{topic: "srv.public.events", db: "shop", schema: "public", table: "events", pg: true,
		fields: []tfield{{name: "kind", typ: "string"}, {name: "n", typ: "int32", optional: true}}}
	keyless := func(op string, after row, pos int64) envelope.Record {
		r := tb.record(op, nil, after, pos, true)
		r.Key = nil // Debezium sends no key for a table without a primary key
		return r
	}
	firstRead := func(r envelope.Record) envelope.Record {
		r.Value = []byte(strings.Replace(string(r.Value), `"snapshot":"false"`, `"snapshot":"first_in_data_collection"`, 1))
		return r
	}
	table := []row{{"kind", "a", "n", 1}, {"kind", "z", "n", 9}, {"kind", "b", "n", 2}, {"kind", "z", "n", 9}, {"kind", "c", "n", 3}}
	for i, newSession := range []bool{true, false} {
		t.Run(fmt.Sprintf("new session %v", newSession), func(t *testing.T) {
			db := fmt.Sprintf("cdc_keyless_resume%d", i)
			first := []envelope.Record{firstRead(keyless("r", table[0], 700)), keyless("r", table[1], 700)} // then killed
			s := chdbTable(t, q, db, "events", first[0])
			s.SetOrigin(1)
			chdbInsert(t, q, s, db, "events", first)
			if newSession {
				s.SetOrigin(2)
			}
			// The resumed attempt: the table again from its start in two chunks at their
			// windows' LSNs, a streamed insert between them.
			again := []envelope.Record{
				firstRead(keyless("r", table[0], 900)), keyless("r", table[1], 900), keyless("r", table[2], 900),
				keyless("c", row{"kind", "s", "n", 5}, 950),
				keyless("r", table[3], 1000), keyless("r", table[4], 1000),
			}
			chdbInsert(t, q, s, db, "events", again)
			got := strings.ReplaceAll(strings.TrimSpace(q("SELECT kind, n FROM "+db+".events FINAL ORDER BY kind, n")), "\n", "|")
			if want := "a\t1|b\t2|c\t3|s\t5|z\t9|z\t9"; got != want {
				t.Fatalf("rows %q, want %q", got, want)
			}
		})
	}
}
