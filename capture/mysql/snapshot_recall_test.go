package mysql

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/schema"
)

// TestRecallNotesCommittedKeys: the binlog read of a resumed snapshot notes only the keys of
// committed transactions of the tables left, and stops at a statement that may change a
// definition (the rows after it would be decoded with the wrong one). A key noted wrongly
// would lose its row; one left out costs a duplicate only.
func TestRecallNotesCommittedKeys(t *testing.T) {
	cat := mysqlddl.NewCatalog("10.11.6-MariaDB-log")
	for _, ddl := range []string{"CREATE TABLE t (id INT PRIMARY KEY, v INT)", "CREATE TABLE o (id INT PRIMARY KEY, v INT)"} {
		if _, err := cat.Apply(ddl, "d"); err != nil {
			t.Fatal(err)
		}
	}
	tid := schema.TableID{DB: "d", Table: "t"}
	st := testkit.NewBinlogStream(1)
	cols := []testkit.BinlogColumn{{Type: byte(binlog.TypeLong)}, {Type: byte(binlog.TypeLong), Nullable: true}}
	tmap := func(id uint64, name string) []byte {
		return st.Event(testkit.BinlogTableMap, testkit.BinlogTable{ID: id, Schema: "d", Name: name, Columns: cols}.Body())
	}
	row := func(id int64) []byte { return testkit.RowImage(testkit.Int(id, 4), testkit.Int(0, 4)) }
	write := func(table uint64, id int64) []byte {
		return st.Event(testkit.BinlogWriteRowsV1, testkit.RowsBody(1, table, 1, 2, testkit.All(2), nil, row(id)))
	}
	txn := func(seq uint64) []byte { return st.Event(testkit.BinlogMariaGTID, testkit.MariaGTIDBody(seq, 0, 0, 0)) }
	queryIn := func(db, q string) []byte {
		return st.Event(testkit.BinlogQuery, testkit.QueryBody(1, 0, 0, db, nil, q))
	}
	query := func(q string) []byte { return queryIn("d", q) }
	xid := func() []byte { return st.Event(testkit.BinlogXID, testkit.XIDBody(1)) }
	raw := [][]byte{
		st.FormatDescription("10.11.6-MariaDB-log"),
		txn(1), tmap(7, "t"), write(7, 1), xid(), // committed: noted
		txn(2), tmap(7, "t"), write(7, 2), query("ROLLBACK"), // rolled back: not noted
		txn(3), tmap(8, "o"), write(8, 3), xid(), // not a table left: not noted
		txn(4), query("XA START 'x'"), tmap(7, "t"), write(7, 4), query("XA END 'x'"), // XA: not noted
		txn(5), query("INSERT INTO o VALUES (1, 1)"), // a statement-logged DML of another table: read on
		st.Event(testkit.BinlogMariaGTID, testkit.MariaGTIDBody(51, 0, binlog.MariaGTIDStandalone, 0)),
		queryIn("", "DROP DATABASE IF EXISTS other"), // DDL of another database: read on
		st.Event(testkit.BinlogMariaGTID, testkit.MariaGTIDBody(52, 0, binlog.MariaGTIDStandalone, 0)),
		queryIn("other", "CREATE TABLE x (id INT)"),
		txn(6), tmap(7, "t"),
		st.Event(testkit.BinlogUpdateRowsV1, testkit.RowsBody(1, 7, 1, 2, testkit.All(2), testkit.All(2), row(6), row(7))), xid(), // both keys
		st.Event(testkit.BinlogMariaGTID, testkit.MariaGTIDBody(7, 0, binlog.MariaGTIDStandalone, 0)), query("ALTER TABLE t ADD COLUMN w INT"),
		txn(8), tmap(7, "t"), write(7, 8), xid(), // after the ALTER: not read
	}
	rs := &resumed{streamed: map[schema.TableID]map[string]bool{tid: {}}}
	rc := newRecall(&Source{cat: cat, info: serverInfo{MariaDB: true}, resumed: rs})
	dec := binlog.NewDecoder(binlog.Config{Checksum: binlog.ChecksumCRC32})
	for _, r := range raw {
		ev, err := dec.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		if rc.stop == "" {
			rc.handle(ev)
		}
	}
	var buf []byte
	for id, want := range map[int64]bool{1: true, 2: false, 3: false, 4: false, 6: true, 7: true, 8: false} {
		k := rowKey(&buf, []int{0}, capture.Row{capture.IntValue(id)})
		if got := rs.streamed[tid][string(k)]; got != want {
			t.Errorf("key %d noted %v, want %v", id, got, want)
		}
	}
	if !strings.Contains(rc.stop, "statement") || rc.noted != 3 {
		t.Errorf("stop %q, %d noted: want a stop at the ALTER and 3 keys", rc.stop, rc.noted)
	}
	for _, c := range []struct {
		db, stmt string
		want     bool
	}{
		{"d", "ALTER TABLE t ADD COLUMN w INT", true},
		{"", "ALTER TABLE `d`.t ADD COLUMN w INT", true},
		{"", "drop database D", true},
		{"other", "RENAME TABLE x TO d.t", true},
		{"other", "CREATE TABLE x (id INT)", false},
		{"", "GRANT SELECT ON other.* TO u", false},
		{"", "CREATE TABLE dd.x (id INT)", false},
		{"", "CREATE TABLE d_x.y (id INT)", false},
		{"", "CREATE TABLE x.y (d INT)", true}, // a false alarm: a duplicate at worst
	} {
		if got := rc.mayTouch(c.db, c.stmt); got != c.want {
			t.Errorf("mayTouch(%q, %q) = %v, want %v", c.db, c.stmt, got, c.want)
		}
	}
}

// TestStreamedBudget: past streamedBudget no key is noted (its chunk row goes out again: a
// duplicate, never a loss); the keys noted before stay, and a table done gives its bytes back.
func TestStreamedBudget(t *testing.T) {
	defer func(b int64) { streamedBudget = b }(streamedBudget)
	streamedBudget = 3 * (21 + streamedEntry) // three one-column integer keys (21 bytes each)
	tid := schema.TableID{DB: "d", Table: "t"}
	rs := &resumed{streamed: map[schema.TableID]map[string]bool{tid: {}}}
	row := func(id int64) capture.Row { return capture.Row{capture.IntValue(id)} }
	for id := int64(1); id <= 5; id++ {
		rs.see(tid, nil, row(id), []int{0})
	}
	rs.see(tid, nil, row(2), []int{0}) // noted already: no cost
	var buf []byte
	for id := int64(1); id <= 5; id++ {
		if got, want := rs.streamed[tid][string(rowKey(&buf, []int{0}, row(id)))], id <= 3; got != want {
			t.Errorf("key %d noted %v, want %v", id, got, want)
		}
	}
	if !rs.streamedFull || rs.streamedBytes != streamedBudget {
		t.Fatalf("full %v, %d bytes (budget %d)", rs.streamedFull, rs.streamedBytes, streamedBudget)
	}
	s := &Source{resumed: rs, cfg: Config{Stats: &capture.Stats{}}, log: slog.New(slog.DiscardHandler)}
	rs.tables = []schema.TableID{tid}
	s.resumeTableDone(tid, "")
	if rs.streamedBytes != 0 {
		t.Fatalf("%d bytes after the table was done", rs.streamedBytes)
	}
}
