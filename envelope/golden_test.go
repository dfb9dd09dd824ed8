package envelope

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const goldenDir = "../testdata/golden"

// formatRecords renders records as the golden files hold them: per record "topic:", "key:",
// "value:" lines with the exact bytes (<null> for a Kafka null) and one "header:" line per header;
// records are separated by a blank line.
func formatRecords(recs []Record) string {
	var b strings.Builder
	for i, r := range recs {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("topic: " + r.Topic + "\n")
		b.WriteString("key: " + nullable(r.Key) + "\n")
		b.WriteString("value: " + nullable(r.Value) + "\n")
		for _, h := range r.Headers {
			b.WriteString("header: " + h.Key + ": " + nullable(h.Value) + "\n")
		}
	}
	return b.String()
}

func nullable(b []byte) string {
	if b == nil {
		return "<null>"
	}
	return string(b)
}

// checkGolden compares got with the golden file's records (its leading '#' lines are comments
// and survive -update).
func checkGolden(t *testing.T, rel, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, rel+".golden")
	old, err := os.ReadFile(path)
	if err != nil && !(*update && os.IsNotExist(err)) {
		t.Fatalf("read golden: %v (run go test ./envelope -update to create it)", err)
	}
	var comments, want []string
	lines := strings.SplitAfter(string(old), "\n")
	i := 0
	for ; i < len(lines) && strings.HasPrefix(lines[i], "#"); i++ {
		comments = append(comments, lines[i])
	}
	want = lines[i:]
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.Join(comments, "")+got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if w := strings.Join(want, ""); w != got {
		t.Errorf("%s differs\n--- want\n%s\n--- got\n%s\n%s", path, w, got, firstDiff(w, got))
	}
}

func firstDiff(a, b string) string {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			lo := max(0, i-60)
			return "first difference at byte " + itoa(i) + ":\n want …" + a[lo:min(len(a), i+40)] + "\n  got …" + b[lo:min(len(b), i+40)]
		}
	}
	return "one is a prefix of the other"
}

func itoa(i int) string { return string(appendInt(nil, i)) }
func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func clock(ns int64) func() time.Time { return func() time.Time { return time.Unix(0, ns) } }

func encodeAll(t *testing.T, cfg Config, evs ...*capture.Event) []Record {
	t.Helper()
	enc, err := NewEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var all []Record
	for _, ev := range evs {
		recs, err := enc.Encode(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			// Every record keeps the Compact promise: JSON without whitespace bytes.
			if !r.Compact {
				t.Fatalf("%s record not marked Compact", r.Topic)
			}
			bs := [][]byte{r.Key, r.Value}
			for _, h := range r.Headers {
				bs = append(bs, h.Value)
			}
			for _, b := range bs {
				if b != nil && !json.Valid(b) {
					t.Fatalf("invalid JSON in %s record: %s", r.Topic, b)
				}
				if b != nil && bytes.ContainsAny(b, "\n\r\t ") && !bytes.Equal(compactJSON(t, b), b) {
					t.Fatalf("%s record is not compact JSON: %s", r.Topic, b)
				}
			}
		}
		all = append(all, cloneRecords(recs)...)
	}
	return all
}

func cloneRecords(recs []Record) []Record {
	out := make([]Record, len(recs))
	for i, r := range recs {
		out[i] = Record{Topic: r.Topic, Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)}
		for _, h := range r.Headers {
			out[i].Headers = append(out[i].Headers, Header{Key: h.Key, Value: bytes.Clone(h.Value)})
		}
	}
	return out
}

// col builds a column with undeclared length and scale.
func col(name, typ string, nullable bool) schema.Column {
	return schema.Column{Name: name, Type: typ, Nullable: nullable, Length: -1, Scale: -1}
}

// §12.1: CREATE TABLE inventory.orders (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
// customer VARCHAR(255) NOT NULL, amount DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL,
// attrs JSON, status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new').
func ordersTable() *schema.Table {
	id := col("id", "int", false)
	id.AutoIncrement = true
	customer := col("customer", "varchar", false)
	customer.Length = 255
	amount := col("amount", "decimal", false)
	amount.Length, amount.Scale = 10, 2
	status := col("status", "enum", false)
	status.Enum = []string{"new", "paid", "shipped"}
	status.Default, status.HasDefault = "new", true
	return &schema.Table{
		ID:         schema.TableID{DB: "inventory", Table: "orders"},
		Dialect:    schema.MySQL,
		Columns:    []schema.Column{id, customer, amount, col("created_at", "datetime", false), col("attrs", "json", true), status},
		PrimaryKey: []int{0},
		Version:    1,
	}
}

// INSERT INTO orders (customer, amount, created_at, attrs, status)
// VALUES ('Anne', 123.45, '2024-01-15 10:30:00', '{"vip": true, "tags": ["a"]}', 'paid'); -- id 1001
func ordersInsert(t *schema.Table) *capture.Event {
	return &capture.Event{
		Kind: capture.Change, Op: capture.OpCreate, Table: t,
		After: capture.Row{
			capture.IntValue(1001),
			capture.StringValue([]byte("Anne")),
			capture.DecimalValue(12345, 2),
			capture.TimestampValue(1705314600000000, 0),
			capture.JSONValue([]byte(`{"vip":true,"tags":["a"]}`)),
			capture.StringValue([]byte("paid")),
		},
		Source: capture.Source{
			Connector: "mysql", TsMicros: 1705314600000000, DB: "inventory", Table: "orders",
			ServerID: 223344, GTID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:23", File: "mysql-bin.000003",
			Pos: 1234, Row: 0, Thread: 7, HasThread: true,
		},
	}
}

// §12.3: CREATE TABLE public.accounts (id uuid PRIMARY KEY, balance numeric(12,2) NOT NULL,
// rate numeric, created_at timestamptz NOT NULL, profile jsonb, tags text[]).
func accountsTable() *schema.Table {
	balance := col("balance", "numeric", false)
	balance.Length, balance.Scale = 12, 2
	tags := col("tags", "text", true)
	tags.Array = true
	return &schema.Table{
		ID:      schema.TableID{DB: "appdb", Schema: "public", Table: "accounts"},
		Dialect: schema.Postgres,
		Columns: []schema.Column{col("id", "uuid", false), balance, col("rate", "numeric", true),
			col("created_at", "timestamptz", false), col("profile", "jsonb", true), tags},
		PrimaryKey: []int{0},
		Version:    1,
	}
}

const accountID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"

// INSERT INTO accounts VALUES ('a0eebc99-…', 19.99, 0.5, '2024-01-15 12:30:00+02', '{"vip":true}', '{a,b}').
func accountsRow(balance int64) capture.Row {
	return capture.Row{
		capture.StringValue([]byte(accountID)),
		capture.DecimalValue(balance, 2),
		capture.DecimalValue(5, 1),
		capture.TimestampTZValue(1705314600000000, 6),
		capture.JSONValue([]byte(`{"vip": true}`)),
		{Kind: capture.Array, Elems: []capture.Value{capture.StringValue([]byte("a")), capture.StringValue([]byte("b"))}},
	}
}

func accountsSource(txid int64, lsn, lastCommit uint64, ts int64) capture.Source {
	return capture.Source{Connector: "postgresql", TsMicros: ts, DB: "appdb", Schema: "public", Table: "accounts",
		TxID: txid, HasTxID: true, LSN: lsn, HasLSN: true, LastCommitLSN: lastCommit}
}

func accountsInsert(t *schema.Table) *capture.Event {
	return &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: t, After: accountsRow(1999),
		Source: accountsSource(767, 24023128, 24023119, 1705314600000123)}
}

func TestGoldenSpec(t *testing.T) {
	mysqlCfg := Config{TopicPrefix: "dbserver1", TombstonesOnDelete: true, Now: clock(1705314600512345678)}
	pgCfg := Config{TopicPrefix: "pgserver1", TombstonesOnDelete: true, Now: clock(1705314600250111222)}
	pgLater := Config{TopicPrefix: "pgserver1", TombstonesOnDelete: true, Now: clock(1705314660250000000)}
	on := func(c Config) Config { c.SchemasEnable = true; return c }
	tx := func(c Config) Config { c.TransactionMetadata = true; return c }

	orders := ordersTable()
	accounts := accountsTable()
	src2 := accountsSource(768, 24023300, 24023200, 1705314660000000)
	keyOnly := capture.Row{capture.StringValue([]byte(accountID)), {}, {}, {}, {}, {}}
	toast := accountsRow(2000)
	toast[4] = capture.Value{Kind: capture.Unavailable}

	cases := []struct {
		name string
		cfg  Config
		evs  []*capture.Event
		hb   int64 // heartbeat at this ms after the events; 0 = none
	}{
		{"spec/12_1_mysql_insert_schemas_off", mysqlCfg, []*capture.Event{ordersInsert(orders)}, 0},
		{"spec/12_2_mysql_insert_schemas_on", on(mysqlCfg), []*capture.Event{ordersInsert(orders)}, 0},
		{"spec/12_3_pg_insert_schemas_off", pgCfg, []*capture.Event{accountsInsert(accounts)}, 0},
		{"spec/12_3_pg_insert_schemas_on", on(pgCfg), []*capture.Event{accountsInsert(accounts)}, 0},
		{"spec/12_4_pg_update_default", pgLater, []*capture.Event{{Kind: capture.Change, Op: capture.OpUpdate,
			Table: accounts, After: accountsRow(2000), Source: src2}}, 0},
		{"spec/12_4_pg_update_full", pgLater, []*capture.Event{{Kind: capture.Change, Op: capture.OpUpdate,
			Table: accounts, Before: accountsRow(1999), After: accountsRow(2000), Source: src2}}, 0},
		{"spec/12_4_pg_delete_default", pgLater, []*capture.Event{{Kind: capture.Change, Op: capture.OpDelete,
			Table: accounts, Before: keyOnly, Source: src2}}, 0},
		{"spec/12_4_pg_delete_full", pgLater, []*capture.Event{{Kind: capture.Change, Op: capture.OpDelete,
			Table: accounts, Before: accountsRow(1999), Source: src2}}, 0},
		{"spec/12_4_pg_update_default_toast", pgLater, []*capture.Event{{Kind: capture.Change, Op: capture.OpUpdate,
			Table: accounts, After: toast, Source: src2}}, 0},
		{"spec/12_5_pg_transaction_heartbeat", tx(pgCfg), []*capture.Event{
			{Kind: capture.Begin, TxID: "767:24023128", Source: accountsSource(767, 24023128, 24023119, 1705314600000123)},
			accountsInsert(accounts),
			{Kind: capture.Commit, TxID: "767:24023128", Source: accountsSource(767, 24023128, 24023119, 1705314600000123)},
		}, 1705314660000},
		{"spec/12_5_transaction_heartbeat_schemas_on", on(tx(pgCfg)), []*capture.Event{
			{Kind: capture.Begin, TxID: "767:24023128", Source: accountsSource(767, 24023128, 24023119, 1705314600000123)},
			accountsInsert(accounts),
			{Kind: capture.Commit, TxID: "767:24023128", Source: accountsSource(767, 24023128, 24023119, 1705314600000123)},
		}, 1705314660000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := encodeAll(t, c.cfg, c.evs...)
			if c.hb != 0 {
				enc, err := NewEncoder(c.cfg)
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, cloneRecords(enc.Heartbeat(nil, time.UnixMilli(c.hb)))...)
			}
			checkGolden(t, c.name, formatRecords(recs))
		})
	}
}

func compactJSON(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
