package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

func TestConfigValidate(t *testing.T) {
	if _, err := NewEncoder(Config{}); err == nil || !strings.Contains(err.Error(), "--topic-prefix") {
		t.Fatalf("empty prefix: err = %v", err)
	}
}

func TestCompatFor(t *testing.T) {
	cases := map[string]Compat{"2.5.4.Final": Compat26, "2.6.2.Final": Compat26, "2.7.3.Final": Compat27,
		"3.0.8.Final": Compat27, "3.1.0.Final": Compat31, "3.2.0.Final": Compat31, "3.4.1.Final": Compat31,
		"3.5.0.Final": Compat35, "3.7.0.Alpha2": Compat35, "garbage": Compat31}
	for v, want := range cases {
		if got := compatFor(v); got != want {
			t.Errorf("compatFor(%q) = %d, want %d", v, got, want)
		}
	}
}

func decimalTable(typ string, scale int) *schema.Table {
	c := col("c", typ, false)
	c.Length, c.Scale = 10, scale
	return &schema.Table{ID: schema.TableID{DB: "db", Schema: "public", Table: "t"}, Dialect: schema.Postgres,
		Columns: []schema.Column{col("id", "int4", false), c}, PrimaryKey: []int{0}, Version: 1}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name string
		tab  *schema.Table
		v    capture.Value
		want string
	}{
		{"NaN in precise decimal", decimalTable("numeric", 2), capture.Value{Kind: capture.Decimal, Flag: capture.NaN}, "--decimal-handling"},
		{"NaN in variable-scale decimal", decimalTable("numeric", -1), capture.Value{Kind: capture.Decimal, Flag: capture.NaN}, "--decimal-handling"},
		{"scale above column", decimalTable("numeric", 2), capture.DecimalValue(12345, 3), "more than the column scale 2"},
		{"kind mismatch", decimalTable("numeric", 2), str("x"), "does not fit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc, err := NewEncoder(Config{TopicPrefix: "p"})
			if err != nil {
				t.Fatal(err)
			}
			ev := &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: c.tab,
				After: capture.Row{capture.IntValue(1), c.v}, Source: capture.Source{Connector: "postgresql"}}
			_, err = enc.Encode(nil, ev)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "column c") {
				t.Fatalf("err = %v, want it to mention %q and the column", err, c.want)
			}
			// The pipeline's failure mode finds the details (and that the event may be skipped)
			// with errors.As.
			var ve *ValueError
			if !errors.As(err, &ve) || ve.Table != "public.t" || ve.Column != "c" || ve.Type != "numeric" ||
				ve.Kind != KindName(c.v.Kind) || !strings.HasPrefix(ve.Schema, "bytes org.apache.kafka.connect.data.Decimal") &&
				!strings.HasPrefix(ve.Schema, "struct io.debezium.data.VariableScaleDecimal") {
				t.Fatalf("err = %#v, want a ValueError with table, column, type, kind and schema", err)
			}
		})
	}
}

// TestTableVersionCache checks that a new table version gets its own schema and the old one is
// dropped from the cache.
func TestTableVersionCache(t *testing.T) {
	enc, err := NewEncoder(Config{TopicPrefix: "dbserver1", SchemasEnable: true})
	if err != nil {
		t.Fatal(err)
	}
	v1 := ordersTable()
	if _, err := enc.Encode(nil, ordersInsert(v1)); err != nil {
		t.Fatal(err)
	}
	v2 := v1.Clone()
	v2.Version = 2
	v2.Columns = append(v2.Columns, col("note", "text", true))
	ev := ordersInsert(v2)
	ev.After = append(ev.After, str("hi"))
	recs, err := enc.Encode(nil, ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc.tables) != 1 || enc.tables[v2] == nil {
		t.Fatalf("cache holds %d tables", len(enc.tables))
	}
	var v struct {
		Schema struct {
			Fields []struct {
				Fields []struct{ Field string } `json:"fields"`
			} `json:"fields"`
		} `json:"schema"`
		Payload struct {
			After map[string]any `json:"after"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(recs[0].Value, &v); err != nil {
		t.Fatal(err)
	}
	if n := len(v.Schema.Fields[1].Fields); n != 7 || v.Payload.After["note"] != "hi" {
		t.Fatalf("after schema has %d fields, payload %v", n, v.Payload.After)
	}
}

// TestRecordsAliasBuffer documents the buffer contract: records stay intact until the next call.
func TestRecordsAliasBuffer(t *testing.T) {
	enc, err := NewEncoder(Config{TopicPrefix: "dbserver1", TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	del := &capture.Event{Kind: capture.Change, Op: capture.OpDelete, Table: ordersTable(), Before: ordersRow(7, "new"), Source: mysqlSource(0)}
	recs, err := enc.Encode(nil, del)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || string(recs[0].Key) != `{"id":7}` || string(recs[1].Key) != `{"id":7}` || recs[1].Value != nil {
		t.Fatalf("records = %q / %q / %v", recs[0].Key, recs[1].Key, recs[1].Value)
	}
}

func TestSchemas(t *testing.T) {
	enc, err := NewEncoder(Config{TopicPrefix: "dbserver1"})
	if err != nil {
		t.Fatal(err)
	}
	key, val, err := enc.Schemas(ordersTable(), "")
	if err != nil {
		t.Fatal(err)
	}
	if key.Name != "dbserver1.inventory.orders.Key" || len(key.Fields) != 1 || key.Fields[0].Schema.Type != Int32 {
		t.Fatalf("key schema %+v", key)
	}
	if val.Name != "dbserver1.inventory.orders.Envelope" || val.Fields[2].Schema.Name != "io.debezium.connector.mysql.Source" {
		t.Fatalf("value schema %+v", val)
	}
	amount := val.Fields[1].Schema.Fields[2].Schema
	if amount.Name != "org.apache.kafka.connect.data.Decimal" || amount.Params[0] != (Param{Key: "scale", Value: "2"}) {
		t.Fatalf("amount schema %+v", amount)
	}
}

// TestSourceCaches checks that the cached source blocks follow every field change.
func TestSourceCaches(t *testing.T) {
	enc, err := NewEncoder(Config{TopicPrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	full := func(ev *capture.Event) string {
		conn, _ := enc.connIndex(ev)
		return string(enc.appendSourceFull(nil, conn, &ev.Source))
	}
	pg := accountsInsert(accountsTable())
	my := ordersInsert(ordersTable())
	steps := []func(){
		func() {}, func() { pg.Source.LSN++ }, func() { pg.Source.TxID++ }, func() { pg.Source.HasLSN = false },
		func() { pg.Source.HasLSN = true; pg.Source.LastCommitLSN = 0 }, func() { pg.Source.Table = "x" },
		func() { my.Source.Pos += 10 }, func() { my.Source.Row++ }, func() { my.Source.GTID = "" },
		func() { my.Source.TsMicros++ }, func() { my.Source.Snapshot = capture.SnapshotLast }, func() { my.Source.Connector = "mariadb" },
		func() { my.Source.HasThread = false },
	}
	for i, step := range steps {
		step()
		for _, ev := range []*capture.Event{pg, my} {
			recs, err := enc.Encode(nil, ev)
			if err != nil {
				t.Fatal(err)
			}
			if want := full(ev); !strings.Contains(string(recs[0].Value), `"source":`+want+`,"transaction"`) {
				t.Fatalf("step %d: value %s lacks source %s", i, recs[0].Value, want)
			}
		}
	}
}

func TestTsTriple(t *testing.T) {
	enc, err := NewEncoder(Config{TopicPrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []int64{0, 999, 999_999_999, 1_000_000_000, 1_705_314_600_000_000_000, 1_705_314_600_512_345_678, 1_705_314_601_000_000_001} {
		got := string(enc.appendTsTriple(nil, ns))
		want := `"ts_ms":` + itoa64(ns/1e6) + `,"ts_us":` + itoa64(ns/1e3) + `,"ts_ns":` + itoa64(ns)
		if got != want {
			t.Errorf("%d: got %s, want %s", ns, got, want)
		}
	}
}

func itoa64(v int64) string { return strconv.FormatInt(v, 10) }

// TestEncodeTimeBeyondMillis: a MySQL TIME beyond what an int32 of milliseconds (Debezium's
// Time) or Connect's Time (0–24 h) holds is refused with the mode to use, not written as a number
// its schema cannot hold.
func TestEncodeTimeBeyondMillis(t *testing.T) {
	c := col("c", "time", true)
	c.Scale = 0
	tab := &schema.Table{ID: schema.TableID{DB: "db", Table: "t"}, Dialect: schema.MySQL,
		Columns: []schema.Column{col("id", "int", false), c}, PrimaryKey: []int{0}, Version: 1}
	const h838 = (838*3600 + 59*60 + 59) * 1_000_000
	cases := []struct {
		mode TimeMode
		us   int64
		want string // "" = encodes
	}{
		{TimeAdaptive, 100 * 3600e6, ""},            // 360000000 ms fits an int32
		{TimeAdaptive, -3600e6, ""},                 // negative TIME: Debezium keeps it
		{TimeAdaptive, h838, "-time-precision"},     // 3020399000 ms overflows int32
		{TimeAdaptive, -h838, "-838:59:59"},         // and its negative
		{TimeConnect, 86_400e6, ""},                 // 24:00:00 is Connect's upper bound
		{TimeConnect, 100 * 3600e6, "within a day"}, // Connect Time holds one day
		{TimeConnect, -1e6, "-0:00:01"},             // nor negative times
		{TimeAdaptiveMicroseconds, h838, ""},        // MicroTime holds every TIME
		{TimeAdaptiveMicroseconds, -h838, ""},
	}
	for _, tc := range cases {
		enc, err := NewEncoder(Config{TopicPrefix: "p", Options: Options{Time: tc.mode}})
		if err != nil {
			t.Fatal(err)
		}
		ev := &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: tab,
			After: capture.Row{capture.IntValue(1), capture.TimeValue(tc.us, 0)}, Source: capture.Source{Connector: "mysql"}}
		_, err = enc.Encode(nil, ev)
		var ve *ValueError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("mode %d, %d µs: %v", tc.mode, tc.us, err)
		case tc.want != "" && (!errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("mode %d, %d µs: err %v, want a ValueError mentioning %q", tc.mode, tc.us, err, tc.want)
		}
	}
}

// TestEncodeAppend: EncodeAppend writes the bytes Encode writes, the records of earlier calls
// stay intact while buf grows under them (from a 1-byte buffer, so nearly every call moves it),
// a key-changing update keeps its headers, and a failed call leaves buf as it was.
func TestEncodeAppend(t *testing.T) {
	orders, accounts := ordersTable(), accountsTable()
	src := accountsSource(768, 24023300, 24023200, 1705314660000000)
	moved := accountsRow(2000)
	moved[0] = capture.StringValue([]byte("b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))
	evs := []*capture.Event{
		ordersInsert(orders),
		{Kind: capture.Change, Op: capture.OpRead, Table: accounts, After: accountsRow(2000), Source: src},
		{Kind: capture.Change, Op: capture.OpUpdate, Table: accounts, Before: accountsRow(1999), After: moved, Source: src},
		{Kind: capture.Change, Op: capture.OpDelete, Table: accounts, Before: accountsRow(1999), Source: src},
	}
	now := time.Unix(1705314660, 123456789)
	for _, schemas := range []bool{false, true} {
		cfg := Config{TopicPrefix: "srv", SchemasEnable: schemas, TombstonesOnDelete: true, Now: func() time.Time { return now }}
		one, err := NewEncoder(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var want []Record
		for _, ev := range evs {
			recs, err := one.Encode(nil, ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				r.Key, r.Value = bytes.Clone(r.Key), bytes.Clone(r.Value)
				r.Headers = append([]Header(nil), r.Headers...)
				for i := range r.Headers {
					r.Headers[i].Value = bytes.Clone(r.Headers[i].Value)
				}
				want = append(want, r)
			}
		}
		enc, err := NewEncoder(cfg)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 0, 1)
		var got []Record
		for _, ev := range evs {
			n := len(got)
			if buf, got, err = enc.EncodeAppend(buf, got, ev); err != nil {
				t.Fatal(err)
			}
			for i := n; i < len(got); i++ { // headers alias the encoder's until the next call
				got[i].Headers = append([]Header(nil), got[i].Headers...)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("schemas %v: %d records, want %d", schemas, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Topic != w.Topic || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) ||
				(g.Key == nil) != (w.Key == nil) || (g.Value == nil) != (w.Value == nil) || len(g.Headers) != len(w.Headers) {
				t.Fatalf("schemas %v: record %d:\n got %s %s %s\nwant %s %s %s", schemas, i, g.Topic, g.Key, g.Value, w.Topic, w.Key, w.Value)
			}
			for j := range w.Headers {
				if g.Headers[j].Key != w.Headers[j].Key || !bytes.Equal(g.Headers[j].Value, w.Headers[j].Value) {
					t.Fatalf("schemas %v: record %d header %d: got %s=%s, want %s=%s", schemas, i, j,
						g.Headers[j].Key, g.Headers[j].Value, w.Headers[j].Key, w.Headers[j].Value)
				}
			}
		}
		// A value that does not fit its column fails; buf keeps its length.
		bad := ordersInsert(orders)
		bad.After[2] = capture.StringValue([]byte("x"))
		n := len(buf)
		buf2, recs, err := enc.EncodeAppend(buf, nil, bad)
		if err == nil || len(buf2) != n || len(recs) != 0 {
			t.Fatalf("schemas %v: bad value: err %v, buf %d → %d, %d records", schemas, err, n, len(buf2), len(recs))
		}
	}
}

// TestHoldClock: while the clock is held every record carries the time read at HoldClock(true);
// after HoldClock(false) each event reads the clock again.
func TestHoldClock(t *testing.T) {
	var ticks int64
	clock := func() time.Time { ticks++; return time.Unix(1705314660, ticks*1000) }
	enc, err := NewEncoder(Config{TopicPrefix: "p", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ts := func() string {
		recs, err := enc.Encode(nil, ordersInsert(ordersTable()))
		if err != nil {
			t.Fatal(err)
		}
		v := string(recs[0].Value)
		return v[strings.LastIndex(v, `"ts_ns":`):]
	}
	enc.HoldClock(true)
	held := []string{ts(), ts(), ts()}
	enc.HoldClock(false)
	after := []string{ts(), ts()}
	if held[0] != `"ts_ns":1705314660000001000}` || held[1] != held[0] || held[2] != held[0] {
		t.Fatalf("held clock: %v, want three times ts_ns 1705314660000001000", held)
	}
	if after[0] != `"ts_ns":1705314660000002000}` || after[1] != `"ts_ns":1705314660000003000}` {
		t.Fatalf("released clock: %v, want 1705314660000002000 and …3000", after)
	}
}

// TestRecordTsNS: every record of a change carries the processing time its envelope's ts_ns
// shows (the Kafka sink's record timestamp), by Encode and EncodeAppend, held clock or not; a
// heartbeat's record none (its time is the caller's).
func TestRecordTsNS(t *testing.T) {
	var ticks int64
	clock := func() time.Time { ticks++; return time.Unix(1705314660, ticks*1000) }
	enc, err := NewEncoder(Config{TopicPrefix: "p", Now: clock, TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, recs []Record) {
		t.Helper()
		for i, r := range recs {
			if r.Value == nil {
				if r.TsNS == 0 {
					t.Errorf("%s: tombstone %d has no TsNS", what, i)
				}
				continue
			}
			v := string(r.Value)
			want := `"ts_ns":` + itoa64(r.TsNS) + `}`
			if r.TsNS == 0 || v[strings.LastIndex(v, `"ts_ns":`):] != want {
				t.Errorf("%s: record %d TsNS %d, value ends %s", what, i, r.TsNS, v[strings.LastIndex(v, `"ts_ns":`):])
			}
		}
	}
	ins := ordersInsert(ordersTable())
	del := *ins
	del.Op, del.Before, del.After = capture.OpDelete, ins.After, nil
	for _, ev := range []*capture.Event{ins, &del} {
		recs, err := enc.Encode(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		check("Encode "+ev.Op.String(), recs)
		enc.HoldClock(true)
		_, recs, err = enc.EncodeAppend(nil, nil, ev)
		enc.HoldClock(false)
		if err != nil {
			t.Fatal(err)
		}
		check("EncodeAppend, held clock, "+ev.Op.String(), recs)
	}
	if hb := enc.Heartbeat(nil, time.Unix(1, 0)); len(hb) != 1 || hb[0].TsNS != 0 {
		t.Errorf("heartbeat records %+v, want one without TsNS", hb)
	}
}

// TestSourceBlockCache: the cached source blocks (fields around pos/row or the LSN, and the
// whole block of a repeated event) write what the field-by-field form writes, over random runs
// of repeated and changing sources of every connector.
func TestSourceBlockCache(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	enc, err := NewEncoder(Config{TopicPrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewEncoder(Config{TopicPrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	pick := func(vs ...string) string { return vs[r.IntN(len(vs))] }
	var s capture.Source
	conn := connMySQL
	for n := 0; n < 20000; n++ {
		if n%50 == 0 { // runs of one connector, so the caches hit
			conn = []int{connMySQL, connMariaDB, connPostgres}[r.IntN(3)]
		}
		switch r.IntN(6) {
		case 0:
			s.Pos++
		case 1:
			s.Row = int32(r.IntN(3))
		case 2:
			s.LSN, s.HasLSN = uint64(r.IntN(3))*1000, r.IntN(8) != 0
		case 3:
			s.Table, s.GTID = pick("a", "b"), pick("", "g:1")
		case 4:
			s.TsMicros = int64(r.IntN(3)) * 1_000_000
		}
		want := ref.appendSourceFull([]byte("x"), conn, &s)
		if got := enc.appendSource([]byte("x"), conn, &s); !bytes.Equal(got, want) {
			t.Fatalf("event %d, conn %d, %+v:\n got %s\nwant %s", n, conn, s, got, want)
		}
	}
}
