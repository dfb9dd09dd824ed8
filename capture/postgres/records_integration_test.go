//go:build integration

package postgres

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// TestDebeziumBitTypes runs Debezium's bitbin_table (debezium-connector-postgres
// src/test/resources/postgres_create_tables.ddl, row INSERT_BIN_TYPES_STMT of
// AbstractRecordsProducerTest) through snapshot and stream and checks the schemas and values
// of AbstractRecordsProducerTest.schemaAndValuesForBinTypes, which RecordsSnapshotProducerIT
// and RecordsStreamProducerIT assert: BIT(1), BIT and BIT VARYING(1) are booleans (issue 13,
// debezium/dbz#2025), the other bit strings io.debezium.data.Bits holding the bits set, little-
// endian, in as few bytes as they need (PostgresValueConverter.convertBits sizes the bytes by
// the highest bit set, not by the column length).
func TestDebeziumBitTypes(t *testing.T) {
	const ddl = "CREATE TABLE bitbin_table (pk SERIAL, ba BYTEA, bol BIT(1), bol2 BIT, bs BIT(2), bs7 BIT(7), bv1 BIT VARYING(1), " +
		"bv BIT VARYING(2), bv2 BIT VARYING(24), bvl BIT VARYING(64), bvunlimited1 BIT VARYING, bvunlimited2 BIT VARYING, PRIMARY KEY(pk))"
	const insert = "INSERT INTO bitbin_table (ba, bol, bol2, bs, bs7, bv1, bv, bv2, bvl, bvunlimited1, bvunlimited2) " +
		"VALUES (E'\\\\001\\\\002\\\\003'::bytea, '0'::bit(1), '1'::bit(1), '11'::bit(2), '1'::bit(7), '1'::bit varying(1), '00'::bit(2), " +
		"'000000110000001000000001'::bit(24), '1000000000000000000000000000000000000000000000000000000000000000'::bit(64), '101', " +
		"'111011010001000110000001000000001')"
	b64 := func(b ...byte) string { return string(envelope.AppendBase64(nil, b)) }
	// schemaAndValuesForBinTypes; bytes as Java's signed literals there: -128 = 0x80, -38 = 0xda.
	want := []struct{ field, schema, value string }{
		{"ba", `{"type":"bytes","optional":true,"field":"ba"}`, b64(1, 2, 3)},
		{"bol", `{"type":"boolean","optional":true,"field":"bol"}`, `false`},
		{"bol2", `{"type":"boolean","optional":true,"field":"bol2"}`, `true`},
		{"bs", `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"2"},"field":"bs"}`, b64(3)},
		{"bs7", `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"7"},"field":"bs7"}`, b64(64)},
		{"bv1", `{"type":"boolean","optional":true,"field":"bv1"}`, `true`},
		{"bv", `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"2"},"field":"bv"}`, b64()},
		{"bv2", `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"24"},"field":"bv2"}`, b64(1, 2, 3)},
		{"bvl", `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"64"},"field":"bvl"}`, b64(0, 0, 0, 0, 0, 0, 0, 0x80)},
		{"bvunlimited1", `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"2147483647"},"field":"bvunlimited1"}`, b64(5)},
		{"bvunlimited2", `{"type":"bytes","optional":true,"name":"io.debezium.data.Bits","version":1,"parameters":{"length":"2147483647"},"field":"bvunlimited2"}`, b64(1, 2, 35, 0xda, 1)},
	}
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec(ddl, insert)
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		s := db.open(cfg)
		db.exec(insert)
		evs := changesOnly(collect(t, s, 2))
		enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "test_server", SchemasEnable: true, TombstonesOnDelete: true})
		if err != nil {
			t.Fatal(err)
		}
		for i, phase := range []string{"snapshot", "stream"} {
			t.Run(phase, func(t *testing.T) {
				if op := evs[i].Op; op != []capture.Op{capture.OpRead, capture.OpCreate}[i] {
					t.Fatalf("op %c", op)
				}
				recs, err := enc.Encode(nil, &evs[i])
				if err != nil {
					t.Fatal(err)
				}
				var v struct {
					Schema struct {
						Fields []struct {
							Fields []json.RawMessage `json:"fields"`
						} `json:"fields"`
					} `json:"schema"`
					Payload struct {
						After map[string]json.RawMessage `json:"after"`
					} `json:"payload"`
				}
				if err := json.Unmarshal(recs[0].Value, &v); err != nil {
					t.Fatal(err)
				}
				schemas := map[string]string{}
				for _, f := range v.Schema.Fields[1].Fields {
					var n struct {
						Field string `json:"field"`
					}
					json.Unmarshal(f, &n)
					schemas[n.Field] = string(f)
				}
				for _, w := range want {
					if got := schemas[w.field]; got != w.schema {
						t.Errorf("%s schema:\n got %s\nwant %s", w.field, got, w.schema)
					}
					if got := strings.TrimSpace(string(v.Payload.After[w.field])); got != w.value {
						t.Errorf("%s value: got %s, want %s", w.field, got, w.value)
					}
				}
			})
		}
	})
}
