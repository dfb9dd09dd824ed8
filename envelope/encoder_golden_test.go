package envelope

import (
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

func ordersRow(id int64, status string) capture.Row {
	r := ordersInsert(ordersTable()).After
	r[0] = capture.IntValue(id)
	r[5] = str(status)
	return r
}

func mysqlSource(row int32) capture.Source {
	s := ordersInsert(ordersTable()).Source
	s.Row = row
	return s
}

// TestGoldenEncoder covers the record shapes around the data events: key changes, tombstones,
// truncates, key-less tables, connectors, compatibility levels, null replacement, snapshot
// markers, transaction metadata, schema changes and logical messages.
func TestGoldenEncoder(t *testing.T) {
	orders := ordersTable()
	accounts := accountsTable()
	base := Config{TopicPrefix: "dbserver1", TombstonesOnDelete: true, Now: clock(1705314600512345678)}
	pgBase := Config{TopicPrefix: "pgserver1", TombstonesOnDelete: true, Now: clock(1705314600250111222)}
	with := func(c Config, f func(*Config)) Config { f(&c); return c }

	keyChange := &capture.Event{Kind: capture.Change, Op: capture.OpUpdate, Table: orders,
		Before: ordersRow(1001, "paid"), After: ordersRow(1002, "paid"), Source: mysqlSource(0)}
	del := &capture.Event{Kind: capture.Change, Op: capture.OpDelete, Table: orders, Before: ordersRow(1001, "paid"), Source: mysqlSource(0)}

	keyless := ordersTable()
	keyless.PrimaryKey = nil
	keyless.Version = 2

	maria := ordersInsert(orders)
	maria.Source.Connector = "mariadb"
	maria.Source.GTID = "0-1-42"

	snap := func(id int64, m capture.Snapshot) *capture.Event {
		ev := &capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: orders, After: ordersRow(id, "new"), Source: mysqlSource(0)}
		ev.Source.Snapshot = m
		ev.Source.ServerID, ev.Source.GTID, ev.Source.HasThread = 0, "", false
		return ev
	}

	// A transaction touching two tables; a second one touching none still gets BEGIN and an END
	// with event_count 0, as Debezium dispatches both eagerly.
	items := &schema.Table{ID: schema.TableID{DB: "inventory", Table: "items"}, Dialect: schema.MySQL,
		Columns: []schema.Column{col("id", "bigint", false), col("order_id", "int", false)}, PrimaryKey: []int{0}, Version: 1}
	gtid := "3e11fa47-71ca-11e1-9e33-c80aa9429562:23"
	tsrc := mysqlSource(0)
	isrc := tsrc
	isrc.Table = "items"
	itemIns := func(id int64, row int32) *capture.Event {
		s := isrc
		s.Row = row
		return &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: items, Source: s,
			After: capture.Row{capture.IntValue(id), capture.IntValue(1001)}}
	}
	txEvents := []*capture.Event{
		{Kind: capture.Begin, TxID: gtid, Source: tsrc},
		ordersInsert(orders),
		itemIns(1, 0),
		itemIns(2, 1),
		{Kind: capture.Commit, TxID: gtid, Source: tsrc},
		{Kind: capture.Begin, TxID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:24", Source: tsrc},
		{Kind: capture.Keepalive},
		{Kind: capture.Commit, TxID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:24", Source: tsrc},
	}

	ddlSrc := mysqlSource(0)
	ddlSrc.Table = "orders"
	ddl := &capture.Event{Kind: capture.SchemaChange, DDLDatabase: "inventory", Source: ddlSrc,
		DDL:     "CREATE TABLE orders (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, customer VARCHAR(255) NOT NULL, amount DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL, attrs JSON, status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new')",
		Changes: []capture.TableChange{{Type: "CREATE", Table: withCharset(orders)}}}

	msgSrc := capture.Source{Connector: "postgresql", TsMicros: 1705314600000123, DB: "appdb", TxID: 767, HasTxID: true, LSN: 24023128, HasLSN: true, LastCommitLSN: 24023119}
	msg := &capture.Event{Kind: capture.Change, Op: capture.OpMessage, Source: msgSrc,
		Message: &capture.Message{Transactional: true, Prefix: "audit", Content: []byte(`{"who":"anne"}`)}}

	trunc := &capture.Event{Kind: capture.Change, Op: capture.OpTruncate, Table: accounts, Source: accountsSource(769, 24023400, 24023300, 1705314700000000)}

	cases := []struct {
		name string
		cfg  Config
		evs  []*capture.Event
	}{
		{"mysql_pk_change", base, []*capture.Event{keyChange}},
		{"mysql_pk_change_no_tombstones", with(base, func(c *Config) { c.TombstonesOnDelete = false }), []*capture.Event{keyChange}},
		{"mysql_pk_change_schemas_on", with(base, func(c *Config) { c.SchemasEnable = true }), []*capture.Event{keyChange}},
		{"mysql_delete", base, []*capture.Event{del}},
		{"mysql_delete_no_tombstone", with(base, func(c *Config) { c.TombstonesOnDelete = false }), []*capture.Event{del}},
		{"mysql_keyless_insert_delete", base, []*capture.Event{
			{Kind: capture.Change, Op: capture.OpCreate, Table: keyless, After: ordersRow(1, "new"), Source: mysqlSource(0)},
			{Kind: capture.Change, Op: capture.OpDelete, Table: keyless, Before: ordersRow(1, "new"), Source: mysqlSource(0)}}},
		{"mariadb_insert_schemas_on", with(base, func(c *Config) { c.SchemasEnable = true }), []*capture.Event{maria}},
		{"mysql_insert_compat_2_6_schemas_on", with(base, func(c *Config) { c.SchemasEnable = true; c.ConnectorVersion = "2.6.2.Final" }), []*capture.Event{ordersInsert(orders)}},
		{"mysql_insert_compat_3_0_schemas_on", with(base, func(c *Config) { c.SchemasEnable = true; c.ConnectorVersion = "3.0.8.Final" }), []*capture.Event{ordersInsert(orders)}},
		{"pg_insert_compat_3_5_schemas_on", with(pgBase, func(c *Config) { c.SchemasEnable = true; c.ConnectorVersion = "3.5.0.Final" }), []*capture.Event{accountsInsert(accounts)}},
		{"mysql_insert_keep_nulls", with(base, func(c *Config) { c.KeepNulls = true }), []*capture.Event{
			ordersInsert(orders),
			{Kind: capture.Change, Op: capture.OpCreate, Table: orders, Source: mysqlSource(1),
				After: capture.Row{capture.IntValue(1003), str("Bob"), capture.DecimalValue(1, 2), capture.TimestampValue(0, 0), {}, {}}}}},
		{"mysql_snapshot_markers", base, []*capture.Event{snap(1, capture.SnapshotFirst), snap(2, capture.SnapshotTrue),
			snap(3, capture.SnapshotLastInTable), snap(4, capture.SnapshotFirstInTable), snap(5, capture.SnapshotLast),
			snap(6, capture.SnapshotIncremental)}},
		{"mysql_transaction_metadata", with(base, func(c *Config) { c.TransactionMetadata = true }), txEvents},
		{"mysql_transaction_begun_by_event", with(base, func(c *Config) { c.TransactionMetadata = true }), func() []*capture.Event {
			ev := ordersInsert(orders)
			ev.TxID = gtid
			return []*capture.Event{ev, {Kind: capture.Commit, TxID: gtid, Source: tsrc}}
		}()},
		{"mysql_schema_change", base, []*capture.Event{ddl}},
		{"mysql_schema_change_schemas_on", with(base, func(c *Config) { c.SchemasEnable = true }), []*capture.Event{ddl}},
		{"pg_message", pgBase, []*capture.Event{msg}},
		{"pg_message_in_transaction", with(pgBase, func(c *Config) { c.TransactionMetadata = true }), []*capture.Event{
			{Kind: capture.Begin, TxID: "767:24023128", Source: msgSrc}, msg,
			{Kind: capture.Change, Op: capture.OpMessage, Source: msgSrc, Message: &capture.Message{Prefix: "nontx", Content: []byte{0, 1}}},
			{Kind: capture.Commit, TxID: "767:24023128", Source: msgSrc}}},
		{"pg_message_schemas_on", with(pgBase, func(c *Config) { c.SchemasEnable = true }), []*capture.Event{msg}},
		{"pg_truncate", pgBase, []*capture.Event{trunc}},
		{"pg_keepalive_snapshot_done", pgBase, []*capture.Event{{Kind: capture.Keepalive}, {Kind: capture.SnapshotDone}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkGolden(t, "envelope/"+c.name, formatRecords(encodeAll(t, c.cfg, c.evs...)))
		})
	}
}

func withCharset(t *schema.Table) *schema.Table {
	c := t.Clone()
	c.DefaultCharset = "utf8mb4"
	c.Columns[1].Charset = "utf8mb4"
	c.Columns[4].Charset = "utf8mb4"
	c.Columns[5].Charset = "utf8mb4"
	return c
}

func TestHeartbeatUsesGivenTime(t *testing.T) {
	enc, err := NewEncoder(Config{TopicPrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	recs := enc.Heartbeat(nil, time.UnixMilli(42))
	if len(recs) != 1 || recs[0].Topic != "__debezium-heartbeat.p" || string(recs[0].Key) != `{"serverName":"p"}` || string(recs[0].Value) != `{"ts_ms":42}` {
		t.Fatalf("heartbeat = %+v", recs)
	}
}
