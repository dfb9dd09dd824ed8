package mysql

import (
	"reflect"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

func TestPositionRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		p    Position
		want string
	}{
		{Position{File: "binlog.000003", Pos: 154, TsSec: 1705314600}, `{"file":"binlog.000003","pos":154,"ts_sec":1705314600}`},
		{Position{File: "binlog.000003", Pos: 154, GTIDs: "0-1-5", Event: 2, Row: 7, ServerID: 223344, TsSec: 1, Snapshot: true},
			`{"file":"binlog.000003","pos":154,"gtids":"0-1-5","event":2,"row":7,"server_id":223344,"ts_sec":1,"snapshot":"INITIAL"}`},
		{Position{File: "binlog.000003", Pos: 154, TsSec: 1, Snapshot: true, SnapDB: "d", SnapTable: "t", SnapAfter: []string{"3132", "ff"}},
			`{"file":"binlog.000003","pos":154,"ts_sec":1,"snapshot":"INITIAL","snapshot_db":"d","snapshot_table":"t","snapshot_after":["3132","ff"]}`},
		{Position{File: "b.1", Pos: 4, TsSec: 1, IncrTables: []string{"d.t", "d.u"}, IncrAfter: []string{"31"}, IncrFilters: map[string]string{"d.u": "(v > 1)"}},
			`{"file":"b.1","pos":4,"ts_sec":1,"incremental_snapshot_tables":["d.t","d.u"],"incremental_snapshot_after":["31"],"incremental_snapshot_filters":{"d.u":"(v \u003e 1)"}}`},
		{Position{File: "b.1", Pos: 4, TsSec: 1, BlockTables: []string{"d.t", "d.u"}, BlockFilters: map[string]string{"d.u": "v > 1"}},
			`{"file":"b.1","pos":4,"ts_sec":1,"blocking_snapshot_tables":["d.t","d.u"],"blocking_snapshot_filters":{"d.u":"v \u003e 1"}}`},
		// A blocking snapshot cut part way goes on after d.t's key 12.
		{Position{File: "b.1", Pos: 4, TsSec: 1, BlockTables: []string{"d.t", "d.u"}, BlockAfter: []string{"3132"}},
			`{"file":"b.1","pos":4,"ts_sec":1,"blocking_snapshot_tables":["d.t","d.u"],"blocking_snapshot_after":["3132"]}`},
		// A paused incremental snapshot stays paused across a restart.
		{Position{File: "b.1", Pos: 4, TsSec: 1, IncrTables: []string{"d.t"}, IncrPaused: true},
			`{"file":"b.1","pos":4,"ts_sec":1,"incremental_snapshot_tables":["d.t"],"incremental_snapshot_paused":true}`},
		{Position{File: "binlog.000003", Pos: 154, TsSec: 1, Snapshot: true, SnapDB: "d", SnapTable: "t"},
			`{"file":"binlog.000003","pos":154,"ts_sec":1,"snapshot":"INITIAL","snapshot_db":"d","snapshot_table":"t"}`},
		// The Kafka signal channel's next offset, 0 included (a topic's first signal).
		{Position{File: "b.1", Pos: 4, TsSec: 1, SignalOffset: 0, HasSignalOffset: true},
			`{"file":"b.1","pos":4,"ts_sec":1,"signal_kafka_offset":0}`},
		{Position{File: "b.1", Pos: 4, TsSec: 1, IncrTables: []string{"d.t"}, SignalOffset: 17, HasSignalOffset: true},
			`{"file":"b.1","pos":4,"ts_sec":1,"incremental_snapshot_tables":["d.t"],"signal_kafka_offset":17}`},
	} {
		got := string(tc.p.AppendOffset(nil))
		if got != tc.want {
			t.Fatalf("got %s want %s", got, tc.want)
		}
		back, err := ParsePosition([]byte(got))
		if err != nil || !reflect.DeepEqual(*back, tc.p) {
			t.Fatalf("parse %s: %+v %v", got, back, err)
		}
	}
	// Debezium ≤ 3.0.1 wrote snapshot as a boolean
	p, err := ParsePosition([]byte(`{"file":"mysql-bin.000003","pos":4,"snapshot":true,"gtids":"a:1-5"}`))
	if err != nil || !p.Snapshot || p.GTIDs != "a:1-5" {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := ParsePosition([]byte(`{"file":"b.1","pos":4,"signal_kafka_offset":"x"}`)); err == nil {
		t.Fatal("a signal_kafka_offset that is no number was accepted")
	}
	if _, err := ParsePosition([]byte(`{"file":"b.1","pos":4,"blocking_snapshot_tables":["d.t"],"blocking_snapshot_after":["xy"]}`)); err == nil {
		t.Fatal("a blocking_snapshot_after that is no hex was accepted")
	}
	if _, err := ParsePosition([]byte(`{"pos":4}`)); err == nil {
		t.Fatal("want an error without file and gtids")
	}
}

func TestAtOrBefore(t *testing.T) {
	a := &Position{File: "binlog.000009", Pos: 100}
	b := &Position{File: "binlog.000010", Pos: 4}
	if !a.atOrBefore(b, nil) || b.atOrBefore(a, nil) || !a.atOrBefore(a, nil) {
		t.Fatal("file order")
	}
	c := &Position{File: "binlog.000010", Pos: 4, Event: 1, Row: 2}
	if !b.atOrBefore(c, nil) || c.atOrBefore(b, nil) {
		t.Fatal("event order")
	}
}

func TestFilter(t *testing.T) {
	f, err := newFilter(&Config{DatabaseInclude: []string{"inv.*"}, TableExclude: []string{`inventory\.secret`}, ColumnExclude: []string{`inventory\.orders\.ssn`}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db, table string
		want      bool
	}{{"inventory", "orders", true}, {"Inventory", "orders", true}, {"inventory", "secret", false}, {"other", "orders", false}, {"mysql", "user", false}} {
		if got := f.table(c.db, c.table); got != c.want {
			t.Errorf("%s.%s: %v", c.db, c.table, got)
		}
	}
	if f.column("inventory", "orders", "ssn") || !f.column("inventory", "orders", "id") {
		t.Error("column filter")
	}
}

func TestTextValue(t *testing.T) {
	col := func(typ string, scale int, unsigned bool) *schema.Column {
		return &schema.Column{Type: typ, Scale: scale, Length: 8, Unsigned: unsigned}
	}
	for _, c := range []struct {
		col  *schema.Column
		in   string
		want capture.Value
	}{
		{col("decimal", 2, false), "-123.45", capture.DecimalValue(-12345, 2)},
		{col("decimal", 3, false), "12.5", capture.DecimalValue(12500, 3)},
		{col("decimal", 0, false), "0", capture.DecimalValue(0, 0)},
		{col("bigint", -1, true), "18446744073709551615", capture.UintValue(18446744073709551615)},
		{col("date", -1, false), "2024-01-15", capture.DateValue(19737)},
		{col("date", -1, false), "0000-00-00", capture.Value{Kind: capture.Date, Flag: capture.Zero}},
		{col("datetime", 3, false), "2024-01-15 10:30:00.123", capture.TimestampValue(1705314600123000, 3)},
		{col("timestamp", 0, false), "2024-01-15 10:30:00", capture.TimestampTZValue(1705314600000000, 0)},
		{col("time", 6, false), "-838:59:59.000000", capture.TimeValue(-3020399000000, 6)},
		{col("time", 0, false), "10:30:00", capture.TimeValue(37800000000, 0)},
	} {
		got, err := textValue(c.col, []byte(c.in))
		if err != nil || got.Kind != c.want.Kind || got.Int != c.want.Int || got.Aux != c.want.Aux || got.Flag != c.want.Flag {
			t.Errorf("%s %q: %+v %v, want %+v", c.col.Type, c.in, got, err, c.want)
		}
	}
	v, _ := textValue(&schema.Column{Type: "decimal", Scale: 2}, []byte("123456789012345678901234.56"))
	if v.Big == nil || v.Big.String() != "12345678901234567890123456" {
		t.Fatalf("big decimal %+v", v)
	}
	v, _ = textValue(&schema.Column{Type: "bit", Length: 12}, []byte{0x0a, 0xbc})
	if string(v.Bytes) != "\xbc\x0a" || v.Aux != 12 {
		t.Fatalf("bit %+v", v)
	}
}

// TestRowPosOffset: a streamed row's compact position writes the same offset as the full
// Position it stands for, and full() gives that Position.
func TestRowPosOffset(t *testing.T) {
	base := &Position{File: "binlog.000007", Pos: 1234, GTIDs: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77", Event: 3,
		TsSec: 1700000000, ServerID: 9, Filters: &TableFilters{TableInclude: []string{`bench\.orders`}}}
	for _, row := range []int64{0, 1, 64, 1 << 40} {
		rp := &rowPos{base: base, row: row}
		want := *base
		want.Row = row
		if got, w := string(rp.AppendOffset([]byte("x"))), "x"+want.String(); got != w {
			t.Errorf("row %d: offset %s, want %s", row, got, w)
		}
		if f := rp.full(); !reflect.DeepEqual(*f, want) || f == base {
			t.Errorf("row %d: full() = %+v, want a copy %+v", row, f, want)
		}
	}
	if base.Row != 0 {
		t.Errorf("base changed: row %d", base.Row)
	}
}
