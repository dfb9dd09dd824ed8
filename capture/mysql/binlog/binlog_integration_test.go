//go:build integration

package binlog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// These tests write rows of every type on a real server, read the binlog file the server wrote
// (the servers run on this machine; the file is found through @@log_bin_basename) and decode
// it, comparing each value with the one the statement stored. They need no replication client.

func serverDB(t *testing.T, env string) *sql.DB {
	t.Helper()
	dsn := testkit.Server(t, env)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	db, err := sql.Open("mysql", dsn+sep+"multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("server of %s: %v", env, err)
	}
	return db
}

type itColumn struct {
	name, ddl, value string // value: SQL literal of row 1
	hint             ColumnHint
	want             capture.Value
}

func itColumns(maria bool) []itColumn {
	bigDec, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	pointWKB := binary.LittleEndian.AppendUint32([]byte{1}, 1)
	pointWKB = binary.LittleEndian.AppendUint64(pointWKB, math.Float64bits(1))
	pointWKB = binary.LittleEndian.AppendUint64(pointWKB, math.Float64bits(2))
	cols := []itColumn{
		{"ti", "TINYINT", "-128", ColumnHint{}, capture.IntValue(-128)},
		{"tiu", "TINYINT UNSIGNED", "255", ColumnHint{Unsigned: true}, capture.IntValue(255)},
		{"si", "SMALLINT", "-32768", ColumnHint{}, capture.IntValue(-32768)},
		{"miu", "MEDIUMINT UNSIGNED", "16777215", ColumnHint{Unsigned: true}, capture.IntValue(16777215)},
		{"mi", "MEDIUMINT", "-8388608", ColumnHint{}, capture.IntValue(-8388608)},
		{"i", "INT", "-2147483648", ColumnHint{}, capture.IntValue(-2147483648)},
		{"iu", "INT UNSIGNED", "4294967295", ColumnHint{Unsigned: true}, capture.IntValue(4294967295)},
		{"bi", "BIGINT", "-9223372036854775808", ColumnHint{}, capture.IntValue(math.MinInt64)},
		{"biu", "BIGINT UNSIGNED", "18446744073709551615", ColumnHint{Unsigned: true}, capture.UintValue(math.MaxUint64)},
		{"f", "FLOAT", "1.5", ColumnHint{}, capture.Float32Value(1.5)},
		{"d", "DOUBLE", "-2.25e100", ColumnHint{}, capture.Float64Value(-2.25e100)},
		{"dec1", "DECIMAL(12,2)", "-1234567890.12", ColumnHint{}, capture.DecimalValue(-123456789012, 2)},
		{"dec2", "DECIMAL(40,10)", "12345678901234567890.1234567890", ColumnHint{}, capture.BigDecimalValue(bigDec, 10)},
		{"y", "YEAR", "2024", ColumnHint{}, capture.IntValue(2024)},
		{"dt", "DATE", "'2024-02-29'", ColumnHint{}, capture.DateValue(19782)},
		{"tm", "TIME(3)", "'-838:59:58.999'", ColumnHint{}, capture.TimeValue(-(838*3600+59*60+58)*1e6-999000, 3)},
		{"tmn", "TIME", "'12:34:56'", ColumnHint{}, capture.TimeValue((12*3600+34*60+56)*1e6, 0)},
		{"dtm", "DATETIME(6)", "'2024-03-05 10:20:30.123456'", ColumnHint{}, capture.TimestampValue(ts(2024, 3, 5, 10, 20, 30, 123456), 6)},
		{"tsp", "TIMESTAMP(2) NULL", "'2023-11-14 22:13:20.5'", ColumnHint{}, capture.TimestampTZValue(1700000000500000, 2)},
		{"b", "BIT(10)", "b'1000000011'", ColumnHint{}, capture.Value{Kind: capture.Bits, Bytes: []byte{3, 2}, Aux: 10}},
		{"e", "ENUM('a','b','c')", "'b'", ColumnHint{Members: []string{"a", "b", "c"}}, str("b")},
		{"s", "SET('x','y','z')", "'x,z'", ColumnHint{Members: []string{"x", "y", "z"}}, str("x,z")},
		{"c", "CHAR(5)", "'abc'", ColumnHint{Collation: 45}, str("abc")},
		{"vc", "VARCHAR(300)", "'héllo'", ColumnHint{Collation: 45}, str("héllo")},
		{"bn", "BINARY(3)", "x'0102'", ColumnHint{Collation: 63}, capture.BytesValue([]byte{1, 2})},
		{"vb", "VARBINARY(10)", "x'00ff'", ColumnHint{Collation: 63}, capture.BytesValue([]byte{0, 0xff})},
		{"tx", "TEXT", "'some text'", ColumnHint{Collation: 45}, str("some text")},
		{"l1", "VARCHAR(10) CHARACTER SET latin1", "'é€'", ColumnHint{Collation: 8}, str("é€")},
		{"cy", "TEXT CHARACTER SET cp1251", "'Привет'", ColumnHint{Collation: 51}, str("Привет")},
		{"bl", "BLOB", "x'deadbeef'", ColumnHint{Collation: 63}, capture.BytesValue([]byte{0xde, 0xad, 0xbe, 0xef})},
		{"g", "GEOMETRY", "ST_GeomFromText('POINT(1 2)')", ColumnHint{}, capture.Value{Kind: capture.Geometry, Bytes: pointWKB}},
	}
	if maria {
		cols = append(cols,
			itColumn{"j", "JSON", `'{"a": [1, "x", null, 2.5], "bb": {"c": true}}'`, ColumnHint{Logical: LogicalJSON, Collation: 45},
				capture.JSONValue([]byte(`{"a": [1, "x", null, 2.5], "bb": {"c": true}}`))},
			itColumn{"u", "UUID", "'123e4567-e89b-12d3-a456-426655440000'", ColumnHint{Logical: LogicalUUID, Collation: 63}, str("123e4567-e89b-12d3-a456-426655440000")},
			itColumn{"i4", "INET4", "'10.0.0.255'", ColumnHint{Logical: LogicalINET4, Collation: 63}, str("10.0.0.255")},
			itColumn{"i6", "INET6", "'2001:db8::1'", ColumnHint{Logical: LogicalINET6, Collation: 63}, str("2001:db8::1")},
		)
	} else {
		cols = append(cols,
			itColumn{"j", "JSON", `'{"a": [1, "x", null, 2.5], "bb": {"c": true}, "d": 1.5e300, "e": 0.1}'`, ColumnHint{},
				capture.JSONValue([]byte(`{"a":[1,"x",null,2.5],"d":` + string(appendJavaDouble(nil, 1.5e300)) + `,"e":0.1,"bb":{"c":true}}`))},
			itColumn{"v", "VECTOR(3)", "STRING_TO_VECTOR('[1.5,-2,0]')", ColumnHint{},
				capture.Value{Kind: capture.Vector, Elems: []capture.Value{capture.Float32Value(1.5), capture.Float32Value(-2), capture.Float32Value(0)}}},
		)
	}
	return cols
}

func runServerRoundTrip(t *testing.T, env string, maria bool) {
	runServerRoundTripMeta(t, env, maria, false)
}

// TestServerFullMetadata repeats the round trip with binlog_row_metadata=FULL and no hints
// for the types the metadata covers. It changes a global server variable for a moment, so it
// runs only when SLUICE_TEST_BINLOG_FULL_METADATA=1.
func TestServerFullMetadata(t *testing.T) {
	if os.Getenv("SLUICE_TEST_BINLOG_FULL_METADATA") != "1" {
		t.Skip("set SLUICE_TEST_BINLOG_FULL_METADATA=1 to run (sets binlog_row_metadata=FULL globally for a moment)")
	}
	t.Run("mysql", func(t *testing.T) { runServerRoundTripMeta(t, "SLUICE_TEST_MYSQL_DSN", false, true) })
	t.Run("mariadb", func(t *testing.T) { runServerRoundTripMeta(t, "SLUICE_TEST_MARIADB_DSN", true, true) })
}

func runServerRoundTripMeta(t *testing.T, env string, maria, fullMeta bool) {
	db := serverDB(t, env)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var base string
	if err := conn.QueryRowContext(ctx, "SELECT @@log_bin_basename").Scan(&base); err != nil {
		t.Fatal(err)
	}
	cols := itColumns(maria)
	var ddl, names, vals, nulls []string
	for _, c := range cols {
		ddl = append(ddl, c.name+" "+c.ddl)
		names = append(names, c.name)
		vals = append(vals, c.value)
		nulls = append(nulls, "NULL")
	}
	exec("SET time_zone = '+00:00'")
	if fullMeta {
		var old string
		if err := conn.QueryRowContext(ctx, "SELECT @@GLOBAL.binlog_row_metadata").Scan(&old); err != nil {
			t.Fatal(err)
		}
		exec("SET GLOBAL binlog_row_metadata = FULL")
		defer func() { _, _ = db.ExecContext(ctx, "SET GLOBAL binlog_row_metadata = "+old) }()
		if maria {
			// And MariaDB's compressed events (log_bin_compress) on top.
			exec("SET GLOBAL log_bin_compress = ON")
			defer func() { _, _ = db.ExecContext(ctx, "SET GLOBAL log_bin_compress = OFF") }()
		}
	}
	exec("CREATE DATABASE IF NOT EXISTS sluice_binlog_it")
	exec("DROP TABLE IF EXISTS sluice_binlog_it.t")
	exec("CREATE TABLE sluice_binlog_it.t (id INT PRIMARY KEY, " + strings.Join(ddl, ", ") + ")")
	exec("FLUSH BINARY LOGS")
	file := currentBinlog(t, conn, maria)
	exec("USE sluice_binlog_it")
	// Long enough (> log_bin_compress_min_len) to be compressed when that is on.
	alterSQL := "ALTER TABLE t COMMENT 'decoded " + strings.Repeat("x", 300) + "'"
	exec(alterSQL)
	exec("INSERT INTO sluice_binlog_it.t (id, " + strings.Join(names, ", ") + ") VALUES (1, " + strings.Join(vals, ", ") + "), (2, " + strings.Join(nulls, ", ") + ")")
	exec("UPDATE sluice_binlog_it.t SET vc = 'upd' WHERE id = 1")
	exec("DELETE FROM sluice_binlog_it.t WHERE id = 2")
	if !maria {
		// binlog_row_value_options=PARTIAL_JSON with a MINIMAL image: PARTIAL_UPDATE_ROWS.
		exec("SET SESSION binlog_row_image = MINIMAL")
		exec("SET SESSION binlog_row_value_options = 'PARTIAL_JSON'")
		exec("UPDATE sluice_binlog_it.t SET j = JSON_SET(j, '$.e', 2) WHERE id = 1")
		// With the FULL image the diff applies to the before value.
		exec("SET SESSION binlog_row_image = FULL")
		exec("UPDATE sluice_binlog_it.t SET j = JSON_REMOVE(JSON_SET(j, '$.f', 'new', '$.a[1]', 'y'), '$.d') WHERE id = 1")
		exec("SET SESSION binlog_row_value_options = ''")
		exec("SET SESSION binlog_transaction_compression = ON")
		exec("INSERT INTO sluice_binlog_it.t (id, " + strings.Join(names, ", ") + ") VALUES (3, " + strings.Join(vals, ", ") + ")")
		exec("SET SESSION binlog_transaction_compression = OFF")
		// A tagged GTID (MySQL 8.4+) is written as GTID_TAGGED_LOG_EVENT.
		exec("SET gtid_next = 'AUTOMATIC:sluice_tag'")
		exec("DELETE FROM sluice_binlog_it.t WHERE id = 3")
		exec("SET gtid_next = 'AUTOMATIC'")
		// A full update whose before image shows j as the server now stores it.
		exec("UPDATE sluice_binlog_it.t SET tx = 't2' WHERE id = 1")
		// An XA transaction's first phase ends with XA_PREPARE_LOG_EVENT.
		exec("XA START 'sluice_xa'")
		exec("INSERT INTO sluice_binlog_it.t (id) VALUES (5)")
		exec("XA END 'sluice_xa'")
		exec("XA PREPARE 'sluice_xa'")
		exec("XA COMMIT 'sluice_xa'")
	}
	exec("FLUSH BINARY LOGS")
	next := currentBinlog(t, conn, maria)

	raw, err := os.ReadFile(filepath.Join(filepath.Dir(base), file))
	testkit.Require(t, "binlog file of "+env+" (a remote server's is not readable here)", err)
	if len(raw) < 4 || string(raw[:4]) != "\xfebin" {
		t.Fatalf("%s: no binlog magic", file)
	}
	hints := make([]ColumnHint, len(cols)+1)
	for i, c := range cols {
		hints[i+1] = c.hint
		if fullMeta && c.hint.Logical == LogicalNone {
			hints[i+1] = ColumnHint{} // the metadata must say it all
		}
	}
	type got struct {
		kind          RowsKind
		before, after capture.Row
		compressed    bool
	}
	var rows []got
	d := NewDecoder(Config{})
	var sawGTID, sawPayload, sawTag, sawPartial, sawDDL, sawXA, sawCompressed, sawCompressedQuery bool
	var applied string
	handle := func(ev Event, inPayload bool) {
		switch x := ev.Data.(type) {
		case *TableMap:
			if x.Schema == "sluice_binlog_it" && x.Table == "t" {
				x.SetHints(hints)
				if fullMeta && (len(x.Names) != len(cols)+1 || x.Names[1] != cols[0].name || len(x.PrimaryKey) != 1 || x.PrimaryKey[0] != 0) {
					t.Errorf("FULL metadata: names %q, primary key %v", x.Names, x.PrimaryKey)
				}
			}
		case *RowsEvent:
			if x.Table.Schema != "sluice_binlog_it" || x.Table.Table != "t" {
				return
			}
			if _, _, compressed := x.Type.rowsInfo(); compressed {
				sawCompressed = true
			}
			if x.Kind == RowsPartialUpdate {
				if !x.Next() {
					t.Fatalf("partial update: %v", x.Err())
				}
				jc := 0
				for jc < len(cols) && cols[jc].name != "j" {
					jc++
				}
				if x.BeforeColumns.Bit(jc + 1) { // FULL image: applied
					applied = string(x.After()[jc+1].Bytes)
					if x.After()[jc+1].Kind != capture.JSON {
						t.Errorf("partial update (full image): after j %+v", x.After()[jc+1])
					}
					return
				}
				if x.Before()[0].Int != 1 || x.After()[jc+1].Kind != capture.Unavailable || len(x.JSONDiff(jc+1)) == 0 {
					t.Errorf("partial update: before %v after %v diff %x", x.Before(), x.After(), x.JSONDiff(jc+1))
				}
				t.Logf("partial JSON diff of j: %x", x.JSONDiff(jc+1))
				sawPartial = true
				return
			}
			for x.Next() {
				rows = append(rows, got{x.Kind, x.Before().Clone(), x.After().Clone(), inPayload})
			}
			if x.Err() != nil {
				t.Fatalf("rows: %v", x.Err())
			}
		case *GTID:
			sawGTID = true
			if string(x.Tag) == "sluice_tag" && x.GNO > 0 && x.ImmediateCommitTimestamp > 1700000000000000 {
				sawTag = true
			}
		case *MariaGTID:
			sawGTID = true
		case *Query:
			if string(x.Query) == alterSQL {
				sawDDL = true
				sawCompressedQuery = ev.Header.Type == MariaQueryCompressedEvent
				if string(x.Schema) != "sluice_binlog_it" || !x.HasCharset || x.CharsetClient == 0 || !x.HasSQLMode ||
					(!maria && x.DDLXID == 0) || x.ExecutionTime > 60 || x.ThreadID == 0 {
					t.Errorf("DDL query event = %+v", x)
				}
			}
		case *TransactionPayload:
			sawPayload = true
		case *XAPrepare:
			sawXA = string(x.GTRID) == "sluice_xa" && !x.OnePhase
		}
	}
	for off := 4; off < len(raw); {
		h, err := ParseHeader(raw[off:])
		if err != nil {
			t.Fatalf("at %d: %v", off, err)
		}
		ev, err := d.Decode(raw[off : off+int(h.EventSize)])
		if err != nil {
			t.Fatalf("at %d: %v", off, err)
		}
		handle(ev, false)
		for {
			inner, ok, err := d.NextInPayload()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			handle(inner, true)
		}
		off += int(h.EventSize)
	}
	if !sawGTID {
		t.Error("no GTID event")
	}
	if !sawDDL {
		t.Error("no QUERY event with the ALTER TABLE")
	}
	if fullMeta && maria && (!sawCompressed || !sawCompressedQuery) {
		t.Errorf("log_bin_compress=ON: compressed rows %v, compressed query %v", sawCompressed, sawCompressedQuery)
	}
	want := 4
	if !maria {
		want = 8
		if !sawXA {
			t.Error("no XA_PREPARE_LOG_EVENT for sluice_xa")
		}
		if !sawPayload {
			t.Error("no TRANSACTION_PAYLOAD with binlog_transaction_compression=ON")
		}
		if !sawPartial {
			t.Error("no PARTIAL_UPDATE_ROWS_EVENT")
		}
		if !sawTag {
			t.Error("no GTID_TAGGED_LOG_EVENT with tag sluice_tag")
		}
		// The next file starts with PREVIOUS_GTIDS in the tagged form.
		nraw, err := os.ReadFile(filepath.Join(filepath.Dir(base), next))
		if err != nil {
			t.Fatal(err)
		}
		nd := NewDecoder(Config{})
		found := false
		for off := 4; off < len(nraw) && !found; {
			h, err := ParseHeader(nraw[off:])
			if err != nil {
				t.Fatal(err)
			}
			ev, err := nd.Decode(nraw[off : off+int(h.EventSize)])
			if err != nil {
				t.Fatalf("%s at %d: %v", next, off, err)
			}
			if p, ok := ev.Data.(*PreviousGTIDs); ok {
				found = true
				if !strings.Contains(p.Set.String(), ":sluice_tag:") {
					t.Errorf("previous GTIDs %s lack the tag", p.Set)
				}
				t.Logf("previous GTIDs: %s", p.Set)
			}
			off += int(h.EventSize)
		}
		if !found {
			t.Error("no PREVIOUS_GTIDS in", next)
		}
	}
	if len(rows) != want {
		t.Fatalf("decoded %d rows of sluice_binlog_it.t, want %d", len(rows), want)
	}
	check := func(label string, r capture.Row, id int64, upd bool) {
		t.Helper()
		if r[0].Int != id {
			t.Errorf("%s: id = %v", label, r[0])
		}
		for i, c := range cols {
			w := c.want
			if upd && c.name == "vc" {
				w = str("upd")
			}
			if !reflect.DeepEqual(normalize(r[i+1]), normalize(w)) {
				t.Errorf("%s: %s %s = %+v (%q), want %+v (%q)", label, c.name, c.ddl, r[i+1], r[i+1].Bytes, w, w.Bytes)
			}
		}
	}
	check("insert row 1", rows[0].after, 1, false)
	for i, v := range rows[1].after[1:] {
		if !v.IsNull() {
			t.Errorf("insert row 2: %s = %+v, want NULL", cols[i].name, v)
		}
	}
	if rows[2].kind != RowsUpdate {
		t.Fatalf("row 3 kind %v", rows[2].kind)
	}
	check("update before", rows[2].before, 1, false)
	check("update after", rows[2].after, 1, true)
	if rows[3].kind != RowsDelete || rows[3].before[0].Int != 2 {
		t.Errorf("delete = %+v", rows[3])
	}
	if !maria {
		if !rows[4].compressed {
			t.Error("row 5 not from a transaction payload")
		}
		check("compressed insert", rows[4].after, 3, false)
		if rows[5].kind != RowsDelete || rows[5].before[0].Int != 3 {
			t.Errorf("tagged delete = %+v", rows[5])
		}
		jc := 0
		for jc < len(cols) && cols[jc].name != "j" {
			jc++
		}
		stored := string(rows[6].before[jc+1].Bytes)
		if applied == "" || applied != stored {
			t.Errorf("partial JSON applied = %s, server stored %s", applied, stored)
		}
		t.Logf("partial JSON applied: %s", applied)
		if rows[7].kind != RowsWrite || rows[7].after[0].Int != 5 {
			t.Errorf("XA insert = %+v", rows[7])
		}
	}
}

func currentBinlog(t *testing.T, conn *sql.Conn, maria bool) string {
	q := "SHOW BINARY LOG STATUS"
	if maria {
		q = "SHOW MASTER STATUS"
	}
	r, err := conn.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	cols, _ := r.Columns()
	if !r.Next() {
		t.Fatal("binary logging is off")
	}
	vals := make([]any, len(cols))
	var file string
	vals[0] = &file
	for i := 1; i < len(vals); i++ {
		vals[i] = new(sql.RawBytes)
	}
	if err := r.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestMySQLServerRoundTrip(t *testing.T)   { runServerRoundTrip(t, "SLUICE_TEST_MYSQL_DSN", false) }
func TestMariaDBServerRoundTrip(t *testing.T) { runServerRoundTrip(t, "SLUICE_TEST_MARIADB_DSN", true) }
