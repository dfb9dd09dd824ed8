//go:build integration

package mysql

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// TestInventoryExample checks the spec's worked example (§12.1 value with schemas off, §12.2
// value schema and key with schemas on) field by field against a real insert. The fields the
// spec marks illustrative (server_id, gtid, file, pos, thread, the times) come from the event.
func TestInventoryExample(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, "inventory")
			mustExec(t, db, "CREATE TABLE inventory.orders (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(255) NOT NULL,\n  amount DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL, attrs JSON,\n  status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new') AUTO_INCREMENT=1001")
			ts := newTestSource(t, srv, "inventory")
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			mustExec(t, db, `INSERT INTO inventory.orders (customer, amount, created_at, attrs, status) VALUES ('Anne', 123.45, '2024-01-15 10:30:00', '{"vip": true, "tags": ["a"]}', 'paid')`)
			ch := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 1 }))
			ev := ch[0].ev
			now := time.Unix(0, 1705314600512345678)
			enc := func(schemas bool) envelope.Record {
				e, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "dbserver1", SchemasEnable: schemas, TombstonesOnDelete: true,
					ConnectorVersion: "3.2.0.Final", Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				recs, err := e.Encode(nil, &ev)
				if err != nil || len(recs) != 1 {
					t.Fatalf("encode: %v %d", err, len(recs))
				}
				return recs[0]
			}
			src := ev.Source
			thread := "null"
			if src.HasThread {
				thread = fmt.Sprint(src.Thread)
			}
			gtid := "null"
			if src.GTID != "" {
				gtid = `"` + src.GTID + `"`
			}
			attrs := `{\"vip\":true,\"tags\":[\"a\"]}`
			if srv.name == "mariadb" {
				attrs = `{\"vip\": true, \"tags\": [\"a\"]}` // MariaDB's JSON is LONGTEXT: the text as inserted
			}
			tsMs := src.TsMicros / 1000
			// §12.1 with the illustrative values replaced by the event's.
			want := fmt.Sprintf(`{"before":null,`+
				`"after":{"id":1001,"customer":"Anne","amount":"MDk=","created_at":1705314600000,`+
				`"attrs":"%s","status":"paid"},`+
				`"source":{"version":"3.2.0.Final","connector":"%s","name":"dbserver1","ts_ms":%d,`+
				`"snapshot":"false","db":"inventory","sequence":null,"ts_us":%d,`+
				`"ts_ns":%d,"table":"orders","server_id":%d,`+
				`"gtid":%s,"file":"%s","pos":%d,`+
				`"row":0,"thread":%s,"query":null},`+
				`"transaction":null,"op":"c","ts_ms":1705314600512,"ts_us":1705314600512345,"ts_ns":1705314600512345678}`,
				attrs, srv.name, tsMs, tsMs*1000, tsMs*1000000, src.ServerID, gtid, src.File, src.Pos, thread)
			if srv.name == "mysql" {
				// MySQL ≥ 8.0.1 with GTIDs: µs commit timestamp
				want = strings.Replace(want, fmt.Sprintf(`"ts_us":%d,"ts_ns":%d`, tsMs*1000, tsMs*1000000),
					fmt.Sprintf(`"ts_us":%d,"ts_ns":%d`, src.TsMicros, src.TsMicros*1000), 1)
			}
			r := enc(false)
			if r.Topic != "dbserver1.inventory.orders" || string(r.Key) != `{"id":1001}` {
				t.Fatalf("topic %s key %s", r.Topic, r.Key)
			}
			if string(r.Value) != want {
				t.Fatalf("value\n got %s\nwant %s", r.Value, want)
			}
			// §12.2: schemas on.
			r = enc(true)
			wantKey := `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"dbserver1.inventory.orders.Key"},"payload":{"id":1001}}`
			if string(r.Key) != wantKey {
				t.Fatalf("key\n got %s\nwant %s", r.Key, wantKey)
			}
			row := `[{"type":"int32","optional":false,"field":"id"},` +
				`{"type":"string","optional":false,"field":"customer"},` +
				`{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2","connect.decimal.precision":"10"},"field":"amount"},` +
				`{"type":"int64","optional":false,"name":"io.debezium.time.Timestamp","version":1,"field":"created_at"},` +
				`{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"attrs"},` +
				`{"type":"string","optional":false,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"new,paid,shipped"},"default":"new","field":"status"}]`
			if srv.name == "mariadb" {
				// the snapshot read the table from information_schema: attrs is LONGTEXT there
				row = strings.Replace(row, `{"type":"string","optional":true,"name":"io.debezium.data.Json","version":1,"field":"attrs"}`, `{"type":"string","optional":true,"field":"attrs"}`, 1)
			}
			wantSchema := `{"schema":{"type":"struct","fields":[` +
				`{"type":"struct","fields":` + row + `,"optional":true,"name":"dbserver1.inventory.orders.Value","field":"before"},` +
				`{"type":"struct","fields":` + row + `,"optional":true,"name":"dbserver1.inventory.orders.Value","field":"after"},` +
				`{"type":"struct","fields":[` +
				`{"type":"string","optional":false,"field":"version"},` +
				`{"type":"string","optional":false,"field":"connector"},` +
				`{"type":"string","optional":false,"field":"name"},` +
				`{"type":"int64","optional":false,"field":"ts_ms"},` +
				`{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"default":"false","field":"snapshot"},` +
				`{"type":"string","optional":false,"field":"db"},` +
				`{"type":"string","optional":true,"field":"sequence"},` +
				`{"type":"int64","optional":true,"field":"ts_us"},` +
				`{"type":"int64","optional":true,"field":"ts_ns"},` +
				`{"type":"string","optional":true,"field":"table"},` +
				`{"type":"int64","optional":false,"field":"server_id"},` +
				`{"type":"string","optional":true,"field":"gtid"},` +
				`{"type":"string","optional":false,"field":"file"},` +
				`{"type":"int64","optional":false,"field":"pos"},` +
				`{"type":"int32","optional":false,"field":"row"},` +
				`{"type":"int64","optional":true,"field":"thread"},` +
				`{"type":"string","optional":true,"field":"query"}],` +
				`"optional":false,"name":"io.debezium.connector.` + srv.name + `.Source","version":1,"field":"source"},` +
				`{"type":"struct","fields":[` +
				`{"type":"string","optional":false,"field":"id"},` +
				`{"type":"int64","optional":false,"field":"total_order"},` +
				`{"type":"int64","optional":false,"field":"data_collection_order"}],` +
				`"optional":true,"name":"event.block","version":1,"field":"transaction"},` +
				`{"type":"string","optional":false,"field":"op"},` +
				`{"type":"int64","optional":true,"field":"ts_ms"},` +
				`{"type":"int64","optional":true,"field":"ts_us"},` +
				`{"type":"int64","optional":true,"field":"ts_ns"}],` +
				`"optional":false,"name":"dbserver1.inventory.orders.Envelope","version":2},"payload":` + want + `}`
			if string(r.Value) != wantSchema {
				t.Fatalf("value with schema\n got %s\nwant %s", r.Value, wantSchema)
			}
			if ev.Kind != capture.Change {
				t.Fatal("not a change")
			}
		})
	}
}
