//go:build integration

package mysql

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// TestTypeSynonymsStreamed: a table created while streaming with the other spellings of
// MySQL's types (DEC, FIXED, NCHAR, NATIONAL VARCHAR, LONG VARCHAR, INT1, BOOL, …) gives the
// records the same table gives when a snapshot reads it from information_schema: same
// Connect schema, same values. Before, the DDL parser stopped the stream at the CREATE TABLE
// (and BOOL streamed as a boolean that the snapshot reads as an int8).
func TestTypeSynonymsStreamed(t *testing.T) {
	cols := []string{
		"a DEC(8,3)", "b FIXED(7,2)", "c NCHAR(5)", "d NATIONAL CHAR(6)", "e NATIONAL VARCHAR(7)", "f NVARCHAR(8)",
		"g CHARACTER VARYING(9)", "h LONG VARCHAR", "i LONG VARBINARY", "j LONG", "k INTEGER", "l BOOL", "m REAL",
		"n DOUBLE PRECISION", "o NUMERIC(6,1)", "p SERIAL", "q INT1", "r INT2 UNSIGNED", "s INT3", "u INT4", "v INT8",
		"w MIDDLEINT", "x CHAR(3) BYTE", "y FLOAT4", "z FLOAT8", "aa NCHAR VARCHAR(4)", "ab NATIONAL CHARACTER VARYING(5)",
		"ac CHAR VARYING(6)", "ad NCHAR VARYING(7)", "ae DEC", "af FIXED", "ag BOOLEAN", "ah CHARACTER(4)",
		"ai VARCHARACTER(5)", "aj LONG CHAR VARYING", "ak LONG BYTE",
	}
	vals := "(1, 12345.678, -12345.67, 'ñandú', 'abcdef', 'varchar', 'nvarchar', 'cv', REPEAT('long ', 100), x'00ff10', 'long text', " +
		"-7, 1, 1.5, 2.25, 12345.6, DEFAULT, -128, 65535, -8388608, 2147483647, -9223372036854775808, 8388607, 'abc', 0.5, 1e300, " +
		"'nv', 'ncv', 'chv', 'nchv', 42, 43, 0, 'chr', 'vchr', 'lcv', x'0102')"
	nulls := "(2"
	for _, c := range cols {
		if strings.HasSuffix(c, "SERIAL") { // NOT NULL AUTO_INCREMENT
			nulls += ", DEFAULT"
		} else {
			nulls += ", NULL"
		}
	}
	nulls += ")"
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("synonyms_%d", os.Getpid())
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			ts := newTestSource(t, srv, name)
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)

			mustExec(t, db, "CREATE TABLE "+name+".t (id int PRIMARY KEY, "+strings.Join(cols, ", ")+") DEFAULT CHARSET=utf8mb4",
				"INSERT INTO "+name+".t VALUES "+vals+", "+nulls)
			streamed := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 2 }))

			// The same table read by a snapshot of a connector that starts now.
			snap := newTestSource(t, srv, name)
			snap.hist = filepath.Join(t.TempDir(), "snapshot-history.jsonl")
			s2 := snap.open(t)
			defer s2.Close()
			read := changes(snap.collect(t, s2, 30*time.Second, untilSnapshotDone))
			if len(read) != 2 {
				t.Fatalf("snapshot read %d rows, want 2", len(read))
			}
			for i := range streamed {
				ks, vs := afterOf(t, streamed[i])
				kr, vr := afterOf(t, read[i])
				if ks != kr {
					t.Errorf("row %d key:\nstreamed %s\nsnapshot %s", i+1, ks, kr)
				}
				if i == 0 {
					t.Logf("row 1 (streamed = snapshot):\n%s", vs)
				}
				if vs != vr {
					t.Errorf("row %d after:\nstreamed %s\nsnapshot %s", i+1, vs, vr)
				}
			}
		})
	}
}

// afterOf encodes the event with schemas and returns the key record and the value's "after"
// field with its schema, as JSON.
func afterOf(t *testing.T, r rec) (key, after string) {
	t.Helper()
	e, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "dbserver1", SchemasEnable: true})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.Encode(nil, &r.ev)
	if err != nil || len(recs) == 0 {
		t.Fatalf("encode %s: %v", r.text, err)
	}
	var v struct {
		Schema struct {
			Fields []json.RawMessage `json:"fields"`
		} `json:"schema"`
		Payload struct {
			After json.RawMessage `json:"after"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(recs[0].Value, &v); err != nil {
		t.Fatal(err)
	}
	var schema string
	for _, f := range v.Schema.Fields {
		if strings.Contains(string(f), `"field":"after"`) {
			schema = string(f)
		}
	}
	return string(recs[0].Key), schema + "\n" + string(v.Payload.After)
}
