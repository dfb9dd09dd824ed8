package transform

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/schema"
)

// TestUnwrapEncodedPath: unwrap reads an encoder record (Compact) by its layout
// (parseEncoded); every record must come out as the member-by-member reading gives it
// (Compact false), also when rows and the source block hold text that looks like the keys it
// looks for (columns named op, source, table; a query with "table": and ,"op": in it).
func TestUnwrapEncodedPath(t *testing.T) {
	tab := &schema.Table{ID: schema.TableID{DB: "inventory", Table: "tricky"}, Dialect: schema.MySQL,
		Columns: []schema.Column{col("id", "int", false), col("op", "varchar", true), col("source", "varchar", true),
			col("table", "varchar", true), col("transaction", "varchar", true)}, PrimaryKey: []int{0}, Version: 1}
	s := func(v string) capture.Value { return capture.StringValue([]byte(v)) }
	row := func(id int64) capture.Row {
		return capture.Row{capture.IntValue(id), s(`d","ts_ms":1}`), s(`{"table":"x"}`), s(`,"op":"c"`), s(`\",\"transaction\":null`)}
	}
	src := mysqlSource("tricky", 99)
	src.Query = `UPDATE tricky SET source = '{"table":"x","op":"d"}' -- ,"transaction":null,"op":"x"}`
	pg := capture.Source{Connector: "postgresql", TsMicros: 1705314600000000, DB: "db", Schema: "public", Table: "tricky",
		TxID: 7, HasTxID: true, LSN: 100, HasLSN: true}
	var evs []*capture.Event
	for _, source := range []capture.Source{src, pg} {
		evs = append(evs,
			&capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: tab, After: row(1), Source: source},
			&capture.Event{Kind: capture.Change, Op: capture.OpUpdate, Table: tab, Before: row(1), After: row(1), Source: source, TxID: "tx-1"},
			&capture.Event{Kind: capture.Change, Op: capture.OpDelete, Table: tab, Before: row(1), Source: source, TxID: "tx-1"})
	}
	fieldSets := []string{"op,table,source.ts_ms", "db,source.query,transaction.id,op", "table:t,name,version,sequence,gtid", "ts_ms,op,table", "connector"}
	for _, schemas := range []bool{false, true} {
		for _, txmeta := range []bool{false, true} {
			enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "dbserver1", SchemasEnable: schemas, TombstonesOnDelete: true,
				TransactionMetadata: txmeta, Now: func() time.Time { return time.Unix(0, 1705314600512345678) }})
			if err != nil {
				t.Fatal(err)
			}
			for _, fields := range fieldSets {
				for _, mode := range []string{"tombstone", "rewrite"} {
					name := fmt.Sprintf("schemas=%v/txmeta=%v/%s/%s", schemas, txmeta, fields, mode)
					specs, err := ParseProperties(unwrapProps("add.fields", fields, "add.headers", fields, "delete.tombstone.handling.mode", mode))
					if err != nil {
						t.Fatal(err)
					}
					built, err := Build(specs, Env{SchemasEnable: schemas})
					if err != nil {
						t.Fatal(err)
					}
					u := built[0].Transform
					for i, ev := range evs {
						recs, err := enc.Encode(nil, ev)
						if err != nil {
							t.Fatal(err)
						}
						for _, r := range recs {
							if r.Value == nil || !r.Compact {
								continue
							}
							if uw := u.(*unwrap); !schemas && uw.need&needTs == 0 && bytes.HasPrefix(r.Value, []byte(encBefore)) {
								if _, ok := uw.parseEncoded(r.Value, uw.need, true); !ok {
									t.Errorf("%s event %d: the encoder's record is not read by its layout", name, i)
								}
							}
							var a1, a2 Arena
							fast, err1 := u.Apply(nil, r, &a1)
							r2 := r
							r2.Compact = false
							slow, err2 := u.Apply(nil, r2, &a2)
							if (err1 == nil) != (err2 == nil) || len(fast) != len(slow) {
								t.Fatalf("%s event %d: %v / %v, %d / %d records", name, i, err1, err2, len(fast), len(slow))
							}
							for k := range fast {
								if !bytes.Equal(fast[k].Value, slow[k].Value) || fmt.Sprint(fast[k].Headers) != fmt.Sprint(slow[k].Headers) {
									t.Errorf("%s event %d:\n fast %s %v\n slow %s %v", name, i, fast[k].Value, fast[k].Headers, slow[k].Value, slow[k].Headers)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestOpAtEnd: the backward read of op finds what lastKey, skipValue and tsOnly find, or
// declines (-1) so that they look.
func TestOpAtEnd(t *testing.T) {
	general := func(tail []byte) (int, int) {
		o := lastKey(tail, encOp)
		if o < 0 {
			return -1, 0
		}
		oe, err := skipValue(tail, o+len(encOp))
		if err != nil || !tsOnly(tail[oe:]) {
			return -1, 0
		}
		return o, oe
	}
	tails := []string{
		`{"db":"x"},"transaction":null,"op":"u","ts_ms":1705314600512,"ts_us":1705314600512345,"ts_ns":1705314600512345678}`,
		`{},"transaction":{"id":"1","total_order":1,"data_collection_order":1},"op":"c","ts_ms":1}`,
		`null,"transaction":null,"op":"d"}`,
		`null,"op":"r","ts_ms":-5}`,
		`{"op":"x"},"op":"uu","ts_ms":1}`,    // not one character: the general reading
		`{},"op":"\"","ts_ms":1}`,            // an escaped quote: the general reading
		`{},"op":"""","ts_ms":1}`,            // malformed
		`{},"op":"u","ts_ms":1,}`,            // malformed
		`{},"op":"u","ts_ms":}`,              // no number
		`{},"op":"u","tx_ms":1}`,             // not a ts_* member
		`{},"op":"u","ts_ms":1,"ts_us":2}x}`, // not the end
		`"op":"u"}`,
		`"u"}`,
		`}`,
		``,
		`,"op":"u","ts_":":5}`, // tsOnly's any two bytes after ts_
	}
	for _, tail := range tails {
		b := []byte(tail)
		o, oe := opAtEnd(b)
		go_, goe := general(b)
		if o >= 0 && (o != go_ || oe != goe) {
			t.Errorf("%s: opAtEnd %d,%d; general %d,%d", tail, o, oe, go_, goe)
		}
	}
	// The encoder's shapes are read backward.
	for _, tail := range tails[:4] {
		if o, _ := opAtEnd([]byte(tail)); o < 0 {
			t.Errorf("%s: not read backward", tail)
		}
	}
}

// TestUnwrapSourceKeyHint: the source key offsets remembered from one record are only a
// guess for the next; records whose source blocks differ in length (database names, snapshot
// phase, connectors) in turn must each get their own source fields.
func TestUnwrapSourceKeyHint(t *testing.T) {
	enc := encoderFor(t, "dbserver1", false)
	specs, err := ParseProperties(unwrapProps("add.fields", "table,db,source.ts_ms:src_ts"))
	if err != nil {
		t.Fatal(err)
	}
	built, err := Build(specs, Env{})
	if err != nil {
		t.Fatal(err)
	}
	u := built[0].Transform
	var a Arena
	for i, db := range []string{"inventory", "inv", "inventory", "a_much_longer_database_name", "inv", "inv"} {
		ev := customerUpdate()
		ev.Source.DB = db
		ev.Source.Table = db + "_t"
		if i%2 == 1 {
			ev.Source.Snapshot = capture.SnapshotFirstInTable
		}
		recs, err := enc.Encode(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		out, err := u.Apply(nil, recs[0], &a)
		if err != nil || len(out) != 1 {
			t.Fatalf("%s: %v, %d records", db, err, len(out))
		}
		want := fmt.Sprintf(`"__table":"%s_t","__db":"%s","__src_ts":1705314600000}`, db, db)
		if !bytes.HasSuffix(out[0].Value, []byte(want)) {
			t.Errorf("%s: %s, want it to end with %s", db, out[0].Value, want)
		}
	}
}
