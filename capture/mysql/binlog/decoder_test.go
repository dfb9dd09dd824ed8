package binlog

import (
	"bytes"
	"compress/zlib"
	"errors"
	"reflect"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

var sid = UUID{0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62}

func TestFormatDescriptionAndChecksum(t *testing.T) {
	for _, c := range []struct {
		name    string
		version string
		crc     bool
		maria   bool
	}{
		{"mysql crc32", "8.0.36", true, false},
		{"mysql none", "9.1.0", false, false},
		{"mariadb crc32", "10.11.6-MariaDB-log", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testkit.NewBinlogStream(7)
			s.Checksum = c.crc
			d := NewDecoder(Config{})
			evs := decodeAll(t, d, s.FormatDescription(c.version), s.Event(testkit.BinlogXID, testkit.XIDBody(42)))
			fd := evs[0].Data.(*FormatDescription)
			want := ChecksumOff
			if c.crc {
				want = ChecksumCRC32
			}
			if fd.Checksum != want || d.Checksum() != want || fd.ServerVersion != c.version || fd.IsMariaDB() != c.maria ||
				fd.HeaderLength != 19 || fd.postHeaderLen(TableMapEvent, 0) != 8 {
				t.Errorf("format = %+v", fd)
			}
			if x := evs[1].Data.(*XID); x.XID != 42 || len(evs[1].Body) != 8 {
				t.Errorf("xid = %+v body %d", x, len(evs[1].Body))
			}
			if evs[1].Header.ServerID != 7 || evs[1].Header.Type != XIDEvent || evs[1].Header.LogPos != s.Pos {
				t.Errorf("header = %+v", evs[1].Header)
			}
		})
	}
}

func TestChecksumMismatch(t *testing.T) {
	s := testkit.NewBinlogStream(1)
	d := NewDecoder(Config{})
	decodeAll(t, d, s.FormatDescription("8.0.36"))
	ev := s.Event(testkit.BinlogXID, testkit.XIDBody(1))
	ev[20] ^= 1
	_, err := d.Decode(ev)
	var ee *EventError
	if !errors.Is(err, ErrChecksum) || !errors.As(err, &ee) || ee.Header.Type != XIDEvent || !bytes.Equal(ee.Data, ev) {
		t.Fatalf("err = %v", err)
	}
	d2 := NewDecoder(Config{SkipVerify: true})
	decodeAll(t, d2, s.FormatDescription("8.0.36"))
	if _, err := d2.Decode(ev); err != nil {
		t.Fatalf("SkipVerify: %v", err)
	}
	// Events before the first FORMAT_DESCRIPTION use the configured algorithm.
	d3 := NewDecoder(Config{Checksum: ChecksumCRC32})
	rot := testkit.EncodeEvent(0, testkit.BinlogRotate, 1, 0, 0x20, testkit.RotateBody(4, "binlog.000002"), true)
	evs := decodeAll(t, d3, rot)
	if r := evs[0].Data.(*Rotate); r.Position != 4 || string(r.NextFile) != "binlog.000002" || evs[0].Header.Flags&FlagArtificial == 0 {
		t.Errorf("rotate = %+v", r)
	}
}

func TestControlEvents(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	u64 := func(v uint64) *uint64 { return &v }
	s := testkit.NewBinlogStream(1)
	d := NewDecoder(Config{})
	decodeAll(t, d, s.FormatDescription("8.0.36"))
	type check func(t *testing.T, ev Event)
	cases := []struct {
		name string
		sql  string
		typ  byte
		body []byte
		chk  check
	}{
		{"query ddl", "USE shop; CREATE TABLE t (id INT) — thread 9, sql_mode 0x4a200000, utf8mb4",
			testkit.BinlogQuery,
			testkit.QueryBody(9, 1, 0, "shop", testkit.QueryStatus{Flags2: u32(0), SQLMode: u64(0x4a200000), Catalog: "std",
				Charset: &[3]uint16{255, 255, 255}, TimeZone: "SYSTEM", UpdatedDBs: []string{"shop"}, Micros: u32(123456), DDLXID: u64(77)}.Bytes(),
				"CREATE TABLE t (id INT)"),
			func(t *testing.T, ev Event) {
				q := ev.Data.(*Query)
				if q.ThreadID != 9 || q.ExecutionTime != 1 || string(q.Schema) != "shop" || string(q.Query) != "CREATE TABLE t (id INT)" ||
					!q.HasSQLMode || q.SQLMode != 0x4a200000 || !q.HasCharset || q.CharsetClient != 255 || q.CollationServer != 255 ||
					string(q.TimeZone) != "SYSTEM" || string(q.Catalog) != "std" || len(q.UpdatedDBs) != 1 || string(q.UpdatedDBs[0]) != "shop" ||
					q.Microseconds != 123456 || q.DDLXID != 77 {
					t.Errorf("query = %+v", q)
				}
			}},
		{"query begin unknown status", "BEGIN, with a status code this package does not know",
			testkit.BinlogQuery, testkit.QueryBody(3, 0, 0, "", testkit.QueryStatus{Flags2: u32(8), Raw: []byte{99, 1, 2}}.Bytes(), "BEGIN"),
			func(t *testing.T, ev Event) {
				q := ev.Data.(*Query)
				if string(q.Query) != "BEGIN" || q.Flags2 != 8 || len(q.Schema) != 0 || q.Microseconds != -1 {
					t.Errorf("query = %+v", q)
				}
			}},
		{"gtid", "a transaction with GTID 3e11fa47-71ca-11e1-9e33-c80aa9429562:23 on 8.0.36",
			testkit.BinlogGTID, testkit.GTIDBody(1, sid, 23, 5, 6, 1700000000123456, 1700000000000001, 512, 80036),
			func(t *testing.T, ev Event) {
				g := ev.Data.(*GTID)
				if g.String() != "3e11fa47-71ca-11e1-9e33-c80aa9429562:23" || g.LastCommitted != 5 || g.SequenceNumber != 6 ||
					g.ImmediateCommitTimestamp != 1700000000123456 || g.OriginalCommitTimestamp != 1700000000000001 ||
					g.TransactionLength != 512 || g.ImmediateServerVersion != 80036 || g.OriginalServerVersion != 80036 {
					t.Errorf("gtid = %+v", g)
				}
			}},
		{"anonymous gtid", "gtid_mode=OFF", testkit.BinlogAnonymousGTID, testkit.GTIDBody(0, UUID{}, 0, 1, 2, 1700000000000000, 1700000000000000, 300, 80036),
			func(t *testing.T, ev Event) {
				g := ev.Data.(*GTID)
				if !g.Anonymous || g.String() != "ANONYMOUS" || g.OriginalCommitTimestamp != 1700000000000000 || g.TransactionLength != 300 {
					t.Errorf("gtid = %+v", g)
				}
			}},
		{"previous gtids", "binlog file start after 3e11…:1-5:7", testkit.BinlogPreviousGTIDs,
			mustBinary(t, MySQLGTIDSet{{SID: sid, Intervals: []Interval{{1, 5}, {7, 7}}}}),
			func(t *testing.T, ev Event) {
				if s := ev.Data.(*PreviousGTIDs).Set.String(); s != "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7" {
					t.Errorf("set = %s", s)
				}
			}},
		{"rows query", "binlog_rows_query_log_events=ON; INSERT INTO t VALUES (1)", testkit.BinlogRowsQuery,
			append([]byte{25}, "INSERT INTO t VALUES (1)"...),
			func(t *testing.T, ev Event) {
				if q := ev.Data.(*RowsQuery); string(q.Query) != "INSERT INTO t VALUES (1)" {
					t.Errorf("rows query = %q", q.Query)
				}
			}},
		{"annotate rows", "MariaDB binlog_annotate_row_events; DELETE FROM t", testkit.BinlogMariaAnnotateRows, []byte("DELETE FROM t"),
			func(t *testing.T, ev Event) {
				if q := ev.Data.(*RowsQuery); string(q.Query) != "DELETE FROM t" {
					t.Errorf("annotate = %q", q.Query)
				}
			}},
		{"heartbeat", "idle source, heartbeat period 1s", testkit.BinlogHeartbeat, []byte("binlog.000003"),
			func(t *testing.T, ev Event) {
				if h := ev.Data.(*Heartbeat); string(h.File) != "binlog.000003" || h.Position != uint64(ev.Header.LogPos) {
					t.Errorf("heartbeat = %+v", h)
				}
			}},
		{"xa prepare", "XA START 'g','b'; INSERT …; XA END 'g','b'; XA PREPARE 'g','b'", 38,
			append([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}, 'g', 'b'),
			func(t *testing.T, ev Event) {
				if x := ev.Data.(*XAPrepare); x.OnePhase || x.FormatID != 1 || string(x.GTRID) != "g" || string(x.BQual) != "b" {
					t.Errorf("xa prepare = %+v", x)
				}
			}},
		{"heartbeat v2", "MySQL 8.0.26+ heartbeat with a 64-bit position", 41,
			append(append([]byte{0, 13}, "binlog.000004"...), 1, 3, 0xfc, 0xe8, 0x03, 2),
			func(t *testing.T, ev Event) {
				if h := ev.Data.(*Heartbeat); string(h.File) != "binlog.000004" || h.Position != 1000 {
					t.Errorf("heartbeat v2 = %+v", h)
				}
			}},
		{"mariadb gtid", "MariaDB 0-1-100 with group commit id", testkit.BinlogMariaGTID, testkit.MariaGTIDBody(100, 0, 2|8, 555),
			func(t *testing.T, ev Event) {
				g := ev.Data.(*MariaGTID)
				if g.GTID.String() != "0-1-100" || g.CommitID != 555 || g.Standalone() {
					t.Errorf("gtid = %+v", g)
				}
			}},
		{"mariadb gtid standalone", "MariaDB DDL 2-1-7", testkit.BinlogMariaGTID, testkit.MariaGTIDBody(7, 2, 1|32, 0),
			func(t *testing.T, ev Event) {
				g := ev.Data.(*MariaGTID)
				if g.GTID.String() != "2-1-7" || !g.Standalone() || g.Flags&MariaGTIDDDL == 0 {
					t.Errorf("gtid = %+v", g)
				}
			}},
		{"mariadb gtid list", "start of a MariaDB binlog file", testkit.BinlogMariaGTIDList, testkit.MariaGTIDListBody([3]uint64{0, 1, 100}, [3]uint64{1, 2, 5}),
			func(t *testing.T, ev Event) {
				if l := ev.Data.(*MariaGTIDList); l.List.String() != "0-1-100,1-2-5" {
					t.Errorf("list = %s", l.List)
				}
			}},
		{"binlog checkpoint", "MariaDB", testkit.BinlogMariaCheckpoint, append([]byte{13, 0, 0, 0}, "mysql-bin.000001"[:13]...),
			func(t *testing.T, ev Event) {
				if c := ev.Data.(*BinlogCheckpoint); string(c.File) != "mysql-bin.000" {
					t.Errorf("checkpoint = %q", c.File)
				}
			}},
		{"stop", "server shutdown", testkit.BinlogStop, nil,
			func(t *testing.T, ev Event) {
				if ev.Data != nil || ev.Skipped {
					t.Errorf("stop = %+v", ev)
				}
			}},
		{"unknown", "a future event type", 200, []byte{1, 2, 3},
			func(t *testing.T, ev Event) {
				if !ev.Skipped || ev.Data != nil || ev.Header.Type.String() != "EVENT_TYPE_200" {
					t.Errorf("unknown = %+v", ev)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := d.Decode(s.Event(c.typ, c.body))
			if err != nil {
				t.Fatal(err)
			}
			c.chk(t, ev)
		})
	}
}

func mustBinary(t *testing.T, s MySQLGTIDSet) []byte {
	b, err := s.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ordersTable is the benchmark's orders table:
//
//	CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id BIGINT, amount DECIMAL(12,2),
//	  status VARCHAR(20), created_at DATETIME(6), payload JSON)
func ordersTable(id uint64) testkit.BinlogTable {
	opt := testkit.OptionalMeta(nil, metaSignedness, testkit.MSBBitmap(false, false, false))
	opt = testkit.OptionalMeta(opt, metaDefaultCharset, testkit.LenEnc(nil, 255))
	opt = testkit.OptionalMeta(opt, metaColumnName, testkit.Names("id", "customer_id", "amount", "status", "created_at", "payload"))
	opt = testkit.OptionalMeta(opt, metaSimplePrimaryKey, testkit.LenEnc(nil, 0))
	return testkit.BinlogTable{ID: id, Schema: "shop", Name: "orders", Optional: opt, Columns: []testkit.BinlogColumn{
		{Type: byte(TypeLongLong)}, {Type: byte(TypeLongLong), Nullable: true}, {Type: byte(TypeNewDecimal), Meta: []byte{12, 2}, Nullable: true},
		{Type: byte(TypeVarchar), Meta: []byte{80, 0}, Nullable: true}, {Type: byte(TypeDateTime2), Meta: []byte{6}, Nullable: true},
		{Type: byte(TypeJSON), Meta: []byte{4}, Nullable: true},
	}}
}

func orderCells(id int64, status string, payload testkit.JSONObject) []testkit.Cell {
	return []testkit.Cell{testkit.Int(id, 8), testkit.Int(id*10, 8), testkit.Decimal("1234.50", 12, 2), testkit.VarString(status, 1),
		testkit.DateTime2(2024, 3, 5, 10, 20, 30, 123456, 6), testkit.Blob(testkit.JSONBinary(payload), 4)}
}

func TestTableMapMetadata(t *testing.T) {
	// CREATE TABLE m (id INT UNSIGNED, e ENUM('a','b') CHARSET latin1, s SET('x','y'),
	//   g POINT, name VARCHAR(10) CHARSET binary, txt TEXT, PRIMARY KEY (id, name(4)))
	// with binlog_row_metadata=FULL; column txt INVISIBLE.
	opt := testkit.OptionalMeta(nil, metaSignedness, testkit.MSBBitmap(true))
	opt = testkit.OptionalMeta(opt, metaDefaultCharset, append(testkit.LenEnc(nil, 255), 0, 63)) // char col #0 (name) binary
	opt = testkit.OptionalMeta(opt, metaColumnName, testkit.Names("id", "e", "s", "g", "name", "txt"))
	opt = testkit.OptionalMeta(opt, metaSetStrValue, testkit.StrValues([]string{"x", "y"}))
	opt = testkit.OptionalMeta(opt, metaEnumStrValue, testkit.StrValues([]string{"a", "b"}))
	opt = testkit.OptionalMeta(opt, metaGeometryType, testkit.LenEnc(nil, 1))
	opt = testkit.OptionalMeta(opt, metaPrimaryKeyWithPrefix, []byte{0, 0, 4, 4})
	opt = testkit.OptionalMeta(opt, metaEnumSetColumnCharset, []byte{8, 45})
	opt = testkit.OptionalMeta(opt, metaColumnVisibility, testkit.MSBBitmap(true, true, true, true, true, false))
	opt = testkit.OptionalMeta(opt, 99, []byte{1, 2, 3}) // unknown: skipped
	tbl := testkit.BinlogTable{ID: 1 << 40, Schema: "db", Name: "m", Optional: opt, Columns: []testkit.BinlogColumn{
		{Type: byte(TypeLong)}, {Type: byte(TypeString), Meta: []byte{byte(TypeEnum), 1}, Nullable: true},
		{Type: byte(TypeString), Meta: []byte{byte(TypeSet), 1}}, {Type: byte(TypeGeometry), Meta: []byte{4}},
		{Type: byte(TypeVarchar), Meta: []byte{10, 0}}, {Type: byte(TypeBlob), Meta: []byte{2}, Nullable: true},
	}}
	s := testkit.NewBinlogStream(1)
	d := NewDecoder(Config{})
	evs := decodeAll(t, d, s.FormatDescription("8.0.36"), s.Event(testkit.BinlogTableMap, tbl.Body()))
	tm := evs[1].Data.(*TableMap)
	want := &TableMap{
		TableID: 1 << 40, Flags: 1, Schema: "db", Table: "m",
		Types:         []ColumnType{TypeLong, TypeString, TypeString, TypeGeometry, TypeVarchar, TypeBlob},
		Meta:          []uint16{0, uint16(TypeEnum)<<8 | 1, uint16(TypeSet)<<8 | 1, 4, 10, 2},
		Nullable:      Bitmap{0b100010},
		Unsigned:      []bool{true, false, false, false, false, false},
		Collations:    []uint16{0, 8, 45, 0, 63, 255},
		Names:         []string{"id", "e", "s", "g", "name", "txt"},
		Members:       [][]string{nil, {"a", "b"}, {"x", "y"}, nil, nil, nil},
		GeometryTypes: []uint32{0, 0, 0, 1, 0, 0},
		PrimaryKey:    []int{0, 4}, PrimaryKeyPrefix: []int{0, 4},
		Visible: []bool{true, true, true, true, true, false},
	}
	want.raw = tm.raw
	if !reflect.DeepEqual(tm, want) {
		t.Errorf("table map\n got %+v\nwant %+v", tm, want)
	}
	if tm.RealType(1) != TypeEnum || tm.RealType(2) != TypeSet || !tm.Nullable.Bit(1) || tm.Nullable.Bit(0) {
		t.Error("RealType/Nullable")
	}
	// The same TABLE_MAP again returns the same *TableMap, so hints stay attached.
	tm.SetHints([]ColumnHint{{Unsigned: true}})
	again := decodeAll(t, d, s.Event(testkit.BinlogTableMap, tbl.Body()))[0].Data.(*TableMap)
	if again != tm || len(again.Hints()) != 1 || d.Table(1<<40) != tm {
		t.Error("repeated TABLE_MAP is a new object")
	}
}

func TestRowsEvents(t *testing.T) {
	tbl := ordersTable(71)
	full := testkit.All(6)
	payload := testkit.JSONObject{{"sku", "A-1"}, {"qty", 2}}
	img := func(id int64, status string) []byte { return testkit.RowImage(orderCells(id, status, payload)...) }
	wantRow := func(id int64, status string) capture.Row {
		return capture.Row{capture.IntValue(id), capture.IntValue(id * 10), capture.DecimalValue(123450, 2), str(status),
			capture.TimestampValue(ts(2024, 3, 5, 10, 20, 30, 123456), 6), capture.JSONValue([]byte(`{"qty":2,"sku":"A-1"}`))}
	}
	un := capture.Value{Kind: capture.Unavailable}
	cases := []struct {
		name string
		sql  string
		typ  byte
		body []byte
		want [][]capture.Row // per row: before, after
	}{
		{"insert v2", "INSERT INTO orders VALUES (1,…,'new',…), (2,…,'paid',…)", testkit.BinlogWriteRowsV2,
			testkit.RowsBody(2, 71, 1, 6, full, nil, img(1, "new"), img(2, "paid")),
			[][]capture.Row{{nil, wantRow(1, "new")}, {nil, wantRow(2, "paid")}}},
		{"insert v1", "MariaDB writes v1 rows events", testkit.BinlogWriteRowsV1,
			testkit.RowsBody(1, 71, 1, 6, full, nil, img(3, "x")),
			[][]capture.Row{{nil, wantRow(3, "x")}}},
		{"update full", "UPDATE orders SET status='paid' WHERE id=1", testkit.BinlogUpdateRowsV2,
			testkit.RowsBody(2, 71, 1, 6, full, full, img(1, "new"), img(1, "paid")),
			[][]capture.Row{{wantRow(1, "new"), wantRow(1, "paid")}}},
		{"update minimal", "binlog_row_image=MINIMAL; UPDATE orders SET status=NULL WHERE id=1", testkit.BinlogUpdateRowsV2,
			testkit.RowsBody(2, 71, 1, 6, []bool{true, false, false, false, false, false}, []bool{false, false, false, true, false, false},
				testkit.RowImage(testkit.Int(1, 8)), testkit.RowImage(nil)),
			[][]capture.Row{{{capture.IntValue(1), un, un, un, un, un}, {un, un, un, {}, un, un}}}},
		{"delete", "DELETE FROM orders WHERE id=2", testkit.BinlogDeleteRowsV2,
			testkit.RowsBody(2, 71, 1, 6, full, nil, img(2, "paid")),
			[][]capture.Row{{wantRow(2, "paid"), nil}}},
		{"nulls", "INSERT INTO orders (id) VALUES (9)", testkit.BinlogWriteRowsV2,
			testkit.RowsBody(2, 71, 1, 6, full, nil, testkit.RowImage(testkit.Int(9, 8), nil, nil, nil, nil, nil)),
			[][]capture.Row{{nil, {capture.IntValue(9), {}, {}, {}, {}, {}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rowsOf(t, tbl, nil, c.typ, c.body)
			for i := range got {
				for j := range got[i] {
					for k := range got[i][j] {
						got[i][j][k] = normalize(got[i][j][k])
					}
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestRowsErrors(t *testing.T) {
	tbl := ordersTable(71)
	s := testkit.NewBinlogStream(1)
	d := NewDecoder(Config{})
	decodeAll(t, d, s.FormatDescription("8.0.36"))
	// Rows before any TABLE_MAP.
	_, err := d.Decode(s.Event(testkit.BinlogWriteRowsV2, testkit.RowsBody(2, 71, 1, 6, testkit.All(6), nil)))
	if !errors.Is(err, ErrUnknownTable) {
		t.Fatalf("err = %v", err)
	}
	decodeAll(t, d, s.Event(testkit.BinlogTableMap, tbl.Body()))
	// A truncated row stops Next with an error.
	img := testkit.RowImage(orderCells(1, "x", testkit.JSONObject{})...)
	ev := decodeAll(t, d, s.Event(testkit.BinlogWriteRowsV2, testkit.RowsBody(2, 71, 1, 6, testkit.All(6), nil, img[:len(img)-3])))[0]
	re := ev.Data.(*RowsEvent)
	if re.Next() || !errors.Is(re.Err(), ErrTruncated) {
		t.Fatalf("next on truncated row: err = %v", re.Err())
	}
	// Column count mismatch.
	_, err = d.Decode(s.Event(testkit.BinlogWriteRowsV2, testkit.RowsBody(2, 71, 1, 5, testkit.All(5), nil)))
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v", err)
	}
}

func TestPartialUpdateRows(t *testing.T) {
	// binlog_row_value_options=PARTIAL_JSON;
	// CREATE TABLE p (id INT PRIMARY KEY, a JSON, b JSON, c JSON);
	// UPDATE p SET a = JSON_SET(a, '$.x', 1), c = JSON_REPLACE(c, '$.nope', 1) WHERE id = 1
	// b is unchanged (empty diff). With the full before image the diff of a is applied; the
	// diff of c does not apply (no such member) and is kept raw.
	tbl := testkit.BinlogTable{ID: 5, Schema: "db", Name: "p", Columns: []testkit.BinlogColumn{
		{Type: byte(TypeLong)}, {Type: byte(TypeJSON), Meta: []byte{4}, Nullable: true},
		{Type: byte(TypeJSON), Meta: []byte{4}, Nullable: true}, {Type: byte(TypeJSON), Meta: []byte{4}, Nullable: true}}}
	diffOp := func(op byte, path string, v any) []byte {
		d := append([]byte{op, byte(len(path))}, path...)
		if op != 2 {
			jb := testkit.JSONBinary(v)
			d = append(append(d, byte(len(jb))), jb...)
		}
		return d
	}
	full := testkit.All(4)
	for _, c := range []struct {
		name     string
		present  []bool
		before   []byte
		wantA    string // "" = Unavailable
		wantBeqB bool
	}{
		{"full image", full, testkit.RowImage(testkit.Int(1, 4), testkit.Blob(testkit.JSONBinary(testkit.JSONObject{{"zz", 1}}), 4),
			testkit.Blob(testkit.JSONBinary([]any{1}), 4), testkit.Blob(testkit.JSONBinary(testkit.JSONObject{}), 4)), `{"x":1,"zz":1}`, true},
		{"minimal image", []bool{true, false, false, false}, testkit.RowImage(testkit.Int(1, 4)), "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			da := diffOp(1, "$.x", 1)
			dc := diffOp(0, "$.nope", 1)
			after := append([]byte{1, 0b111}, testkit.RowImage(testkit.Blob(da, 4), testkit.Blob(nil, 4), testkit.Blob(dc, 4))...)
			body := testkit.RowsBody(2, 5, 1, 4, c.present, []bool{false, true, true, true}, c.before, after)
			s := testkit.NewBinlogStream(1)
			d := NewDecoder(Config{})
			decodeAll(t, d, s.FormatDescription("8.0.36"), s.Event(testkit.BinlogTableMap, tbl.Body()))
			re := decodeAll(t, d, s.Event(testkit.BinlogPartialUpdateRows, body))[0].Data.(*RowsEvent)
			if !re.Next() {
				t.Fatal(re.Err())
			}
			a := re.After()
			if c.wantA != "" {
				if a[1].Kind != capture.JSON || string(a[1].Bytes) != c.wantA || re.JSONDiff(1) != nil {
					t.Errorf("a = %+v %q", a[1], a[1].Bytes)
				}
			} else if a[1].Kind != capture.Unavailable || !bytes.Equal(re.JSONDiff(1), da) {
				t.Errorf("a = %+v, diff %x", a[1], re.JSONDiff(1))
			}
			if c.wantBeqB != (a[2].Kind == capture.JSON && string(a[2].Bytes) == "[1]") {
				t.Errorf("b = %+v", a[2])
			}
			if a[3].Kind != capture.Unavailable || !bytes.Equal(re.JSONDiff(3), dc) {
				t.Errorf("c = %+v diff %x", a[3], re.JSONDiff(3))
			}
			if a[0].Kind != capture.Unavailable {
				t.Errorf("id after = %+v", a[0])
			}
			if re.Next() || re.Err() != nil {
				t.Errorf("extra row, err %v", re.Err())
			}
		})
	}
}

func TestApplyJSONDiff(t *testing.T) {
	type obj = testkit.JSONObject
	op := func(o byte, path string, v any) []byte {
		d := append([]byte{o, byte(len(path))}, path...)
		if o != 2 {
			jb := testkit.JSONBinary(v)
			d = append(append(d, byte(len(jb))), jb...)
		}
		return d
	}
	cat := func(ds ...[]byte) []byte { return bytes.Join(ds, nil) }
	before := testkit.JSONBinary(obj{{"a", []any{1, 2, 3}}, {"b", obj{{"c d", "x"}}}, {"long", true}})
	cases := []struct {
		name, sql string
		diff      []byte
		want      string
		err       bool
	}{
		{"replace", `JSON_REPLACE(j, '$.a[1]', 20)`, op(0, "$.a[1]", 20), `{"a":[1,20,3],"b":{"c d":"x"},"long":true}`, false},
		{"insert member sorted", `JSON_SET(j, '$.bb', null)`, op(1, "$.bb", nil), `{"a":[1,2,3],"b":{"c d":"x"},"bb":null,"long":true}`, false},
		{"array insert", `JSON_ARRAY_INSERT(j, '$.a[0]', 0)`, op(1, "$.a[0]", 0), `{"a":[0,1,2,3],"b":{"c d":"x"},"long":true}`, false},
		{"array append", `JSON_ARRAY_APPEND(j, '$.a', 4)`, op(1, "$.a[3]", 4), `{"a":[1,2,3,4],"b":{"c d":"x"},"long":true}`, false},
		{"remove", `JSON_REMOVE(j, '$.long', '$.a[0]')`, cat(op(2, "$.long", nil), op(2, "$.a[0]", nil)), `{"a":[2,3],"b":{"c d":"x"}}`, false},
		{"quoted key", `JSON_REPLACE(j, '$.b."c d"', 'y')`, op(0, `$.b."c d"`, "y"), `{"a":[1,2,3],"b":{"c d":"y"},"long":true}`, false},
		{"replace root", `JSON_REPLACE(j, '$', '[]')`, op(0, "$", []any{}), `[]`, false},
		{"missing member", `JSON_REPLACE(j, '$.zz', 1)`, op(0, "$.zz", 1), "", true},
		{"bad path", "", op(0, "a", 1), "", true},
		{"truncated", "", op(0, "$.a", 1)[:4], "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ApplyJSONDiff(nil, before, c.diff)
			if (err != nil) != c.err || string(got) != c.want {
				t.Errorf("got %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

func TestTransactionPayload(t *testing.T) {
	// binlog_transaction_compression=ON: GTID stays outside; TABLE_MAP, WRITE_ROWS and XID
	// are compressed with zstd into one TRANSACTION_PAYLOAD_EVENT.
	tbl := ordersTable(80)
	inner := testkit.BinlogStream{ServerID: 1, Pos: 0}
	var raw []byte
	raw = append(raw, inner.Event(testkit.BinlogTableMap, tbl.Body())...)
	raw = append(raw, inner.Event(testkit.BinlogWriteRowsV2, testkit.RowsBody(2, 80, 1, 6, testkit.All(6), nil,
		testkit.RowImage(orderCells(5, "z", testkit.JSONObject{{"k", true}})...)))...)
	raw = append(raw, inner.Event(testkit.BinlogXID, testkit.XIDBody(99))...)
	enc, _ := zstd.NewWriter(nil)
	comp := enc.EncodeAll(raw, nil)
	var body []byte
	body = testkit.LenEnc(body, 2) // compression type
	body = testkit.LenEnc(body, 1)
	body = testkit.LenEnc(body, 0)
	body = testkit.LenEnc(body, 3) // uncompressed size
	sz := testkit.LenEnc(nil, uint64(len(raw)))
	body = testkit.LenEnc(body, uint64(len(sz)))
	body = append(body, sz...)
	body = testkit.LenEnc(body, 1) // payload size
	sz = testkit.LenEnc(nil, uint64(len(comp)))
	body = testkit.LenEnc(body, uint64(len(sz)))
	body = append(body, sz...)
	body = append(body, 0)
	body = append(body, comp...)

	s := testkit.NewBinlogStream(1)
	d := NewDecoder(Config{})
	evs := decodeAll(t, d, s.FormatDescription("8.0.36"), s.Event(testkit.BinlogTransactionPayload, body))
	p := evs[1].Data.(*TransactionPayload)
	if p.CompressionType != PayloadZstd || p.UncompressedSize != uint64(len(raw)) || p.PayloadSize != uint64(len(comp)) {
		t.Fatalf("payload = %+v", p)
	}
	var types []EventType
	for {
		ev, ok, err := d.NextInPayload()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		types = append(types, ev.Header.Type)
		if re, isRows := ev.Data.(*RowsEvent); isRows {
			if !re.Next() || re.After()[0].Int != 5 || string(re.After()[5].Bytes) != `{"k":true}` {
				t.Errorf("inner row = %v, %v", re.After(), re.Err())
			}
		}
		if x, isXID := ev.Data.(*XID); isXID && x.XID != 99 {
			t.Errorf("xid = %d", x.XID)
		}
	}
	if !reflect.DeepEqual(types, []EventType{TableMapEvent, WriteRowsEventV2, XIDEvent}) {
		t.Errorf("inner types = %v", types)
	}
}

func mariaCompress(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	n := len(b)
	return append([]byte{0x80 | 2, byte(n >> 8), byte(n)}, buf.Bytes()...)
}

func TestMariaDBCompressed(t *testing.T) {
	// MariaDB log_bin_compress=ON, log_bin_compress_min_len=10.
	s := testkit.NewBinlogStream(1)
	d := NewDecoder(Config{})
	decodeAll(t, d, s.FormatDescription("10.11.6-MariaDB-log"))
	q := "INSERT INTO t SELECT * FROM u WHERE a = 'some long statement text'"
	body := testkit.QueryBody(4, 0, 0, "db", nil, "")
	body = append(body, mariaCompress(t, []byte(q))...)
	ev := decodeAll(t, d, s.Event(testkit.BinlogMariaQueryCompressed, body))[0]
	if got := ev.Data.(*Query); string(got.Query) != q || string(got.Schema) != "db" {
		t.Errorf("query = %q", got.Query)
	}
	tbl := ordersTable(3)
	decodeAll(t, d, s.Event(testkit.BinlogTableMap, tbl.Body()))
	rows := testkit.RowsBody(1, 3, 1, 6, testkit.All(6), nil)
	rows = append(rows, mariaCompress(t, testkit.RowImage(orderCells(8, "ok", testkit.JSONObject{})...))...)
	re := decodeAll(t, d, s.Event(testkit.BinlogMariaWriteRowsCompressedV1, rows))[0].Data.(*RowsEvent)
	if !re.Next() || re.After()[0].Int != 8 || string(re.After()[3].Bytes) != "ok" {
		t.Errorf("row = %v err %v", re.After(), re.Err())
	}
}

// TestTableMapSignednessYear: MySQL's SIGNEDNESS metadata has a bit for YEAR (seen on MySQL 9.7):
//
//	CREATE TABLE y (y YEAR, a INT UNSIGNED, b INT)
//
// gives the bits 1 (YEAR is unsigned), 1, 0; skipping YEAR made a signed and b unsigned.
func TestTableMapSignednessYear(t *testing.T) {
	opt := testkit.OptionalMeta(nil, metaSignedness, testkit.MSBBitmap(true, true, false))
	tbl := testkit.BinlogTable{ID: 7, Schema: "db", Name: "y", Optional: opt, Columns: []testkit.BinlogColumn{
		{Type: byte(TypeYear), Nullable: true}, {Type: byte(TypeLong), Nullable: true}, {Type: byte(TypeLong), Nullable: true},
	}}
	s := testkit.NewBinlogStream(1)
	evs := decodeAll(t, NewDecoder(Config{}), s.FormatDescription("9.7.4"), s.Event(testkit.BinlogTableMap, tbl.Body()))
	if got := evs[1].Data.(*TableMap).Unsigned; !reflect.DeepEqual(got, []bool{true, true, false}) {
		t.Errorf("Unsigned = %v, want [true true false]", got)
	}
}
