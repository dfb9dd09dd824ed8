package transform

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func col(name, typ string, nullable bool) schema.Column {
	return schema.Column{Name: name, Type: typ, Nullable: nullable, Length: -1, Scale: -1}
}

// The customers table of Debezium's tutorial and of the New Record State Extraction docs:
// CREATE TABLE inventory.customers (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
// first_name VARCHAR(255) NOT NULL, last_name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL).
func customersTable() *schema.Table {
	return &schema.Table{
		ID:      schema.TableID{DB: "inventory", Table: "customers"},
		Dialect: schema.MySQL,
		Columns: []schema.Column{col("id", "int", false), col("first_name", "varchar", false),
			col("last_name", "varchar", false), col("email", "varchar", false)},
		PrimaryKey: []int{0},
		Version:    1,
	}
}

func customer(id int64, first, last, email string) capture.Row {
	return capture.Row{capture.IntValue(id), capture.StringValue([]byte(first)),
		capture.StringValue([]byte(last)), capture.StringValue([]byte(email))}
}

func mysqlSource(table string, pos uint64) capture.Source {
	return capture.Source{Connector: "mysql", TsMicros: 1705314600000000, DB: "inventory", Table: table,
		ServerID: 223344, File: "mysql-bin.000003", Pos: pos, HasThread: true, Thread: 7}
}

// UPDATE customers SET email = 'annek@noanswer.org' WHERE id = 1004;
func customerUpdate() *capture.Event {
	t := customersTable()
	return &capture.Event{Kind: capture.Change, Op: capture.OpUpdate, Table: t,
		Before: customer(1004, "Anne", "Kretchmar", "annek@example.com"),
		After:  customer(1004, "Anne", "Kretchmar", "annek@noanswer.org"),
		Source: mysqlSource("customers", 1234)}
}

// DELETE FROM customers WHERE id = 1004;
func customerDelete() *capture.Event {
	return &capture.Event{Kind: capture.Change, Op: capture.OpDelete, Table: customersTable(),
		Before: customer(1004, "Anne", "Kretchmar", "annek@noanswer.org"),
		Source: mysqlSource("customers", 2345)}
}

// INSERT INTO customers VALUES (1005, 'Sarah', 'Thompson', 'kitt@acme.com');
func customerInsert() *capture.Event {
	return &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: customersTable(),
		After:  customer(1005, "Sarah", "Thompson", "kitt@acme.com"),
		Source: mysqlSource("customers", 3456)}
}

// The outbox table of the Outbox Event Router docs (PostgreSQL):
// CREATE TABLE outbox (id uuid PRIMARY KEY, aggregatetype varchar(255) NOT NULL,
// aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb);
func outboxTable() *schema.Table {
	return &schema.Table{
		ID:      schema.TableID{DB: "orderdb", Schema: "public", Table: "outboxevent"},
		Dialect: schema.Postgres,
		Columns: []schema.Column{col("id", "uuid", false), col("aggregatetype", "varchar", false),
			col("aggregateid", "varchar", false), col("type", "varchar", false), col("payload", "jsonb", true)},
		PrimaryKey: []int{0},
		Version:    1,
	}
}

const docsOrderPayload = `{"id": 1, "lineItems": [{"id": 1, "item": "Debezium in Action", "status": "ENTERED", "quantity": 2, "totalPrice": 39.98}, {"id": 2, "item": "Debezium for Dummies", "status": "ENTERED", "quantity": 1, "totalPrice": 29.99}], "orderDate": "2019-01-31T12:13:01", "customerId": 123}`

func outboxRow(id, aggType, aggID, typ, payload string) capture.Row {
	p := capture.Value{Kind: capture.Null}
	if payload != "" {
		p = capture.JSONValue([]byte(payload))
	}
	return capture.Row{capture.StringValue([]byte(id)), capture.StringValue([]byte(aggType)),
		capture.StringValue([]byte(aggID)), capture.StringValue([]byte(typ)), p}
}

func pgSource(table string, lsn uint64) capture.Source {
	return capture.Source{Connector: "postgresql", TsMicros: 1556890294344000, DB: "orderdb", Schema: "public", Table: table,
		TxID: 767, HasTxID: true, LSN: lsn, HasLSN: true}
}

// INSERT INTO outboxevent VALUES ('406c07f3-…', 'order', '1', 'OrderCreated', '<the docs' order>');
func outboxInsert() *capture.Event {
	return &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: outboxTable(),
		After:  outboxRow("406c07f3-26f0-4eea-a50c-109940064b8f", "order", "1", "OrderCreated", docsOrderPayload),
		Source: pgSource("outboxevent", 24023128)}
}

// DELETE FROM outboxevent WHERE id = '406c07f3-…';
func outboxDelete() *capture.Event {
	return &capture.Event{Kind: capture.Change, Op: capture.OpDelete, Table: outboxTable(),
		Before: outboxRow("406c07f3-26f0-4eea-a50c-109940064b8f", "order", "1", "OrderCreated", docsOrderPayload),
		Source: pgSource("outboxevent", 24023200)}
}

func encoderFor(t testing.TB, prefix string, schemas bool) *envelope.Encoder {
	t.Helper()
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: prefix, SchemasEnable: schemas, TombstonesOnDelete: true,
		Now: func() time.Time { return time.Unix(0, 1705314600512345678) }})
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func chainOf(t testing.TB, enc Encoder, schemas bool, props map[string]string) *Chain {
	t.Helper()
	specs, err := ParseProperties(props)
	if err != nil {
		t.Fatal(err)
	}
	built, err := Build(specs, Env{SchemasEnable: schemas})
	if err != nil {
		t.Fatal(err)
	}
	return NewChain(enc, built)
}

func writeRecords(w *bytes.Buffer, recs []envelope.Record) {
	for _, r := range recs {
		fmt.Fprintf(w, "topic: %s\n", r.Topic)
		fmt.Fprintf(w, "key: %s\n", orNull(r.Key))
		for _, h := range r.Headers {
			fmt.Fprintf(w, "header: %s=%s\n", h.Key, orNull(h.Value))
		}
		fmt.Fprintf(w, "value: %s\n\n", orNull(r.Value))
	}
}

func orNull(b []byte) string {
	if b == nil {
		return "<null>"
	}
	return string(b)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./transform -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// checkJSON fails when a record's key, value or schema is not valid JSON.
func checkJSON(t *testing.T, recs []envelope.Record) {
	t.Helper()
	for _, r := range recs {
		for _, b := range [][]byte{r.Key, r.Value} {
			if b != nil && !json.Valid(b) {
				t.Errorf("%s: invalid JSON %s", r.Topic, b)
			}
		}
	}
}

type goldenCase struct {
	name    string
	prefix  string
	schemas bool
	props   map[string]string
	events  []*capture.Event
}

func runGolden(t *testing.T, cases []goldenCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := chainOf(t, encoderFor(t, c.prefix, c.schemas), c.schemas, c.props)
			var out bytes.Buffer
			keys := make([]string, 0, len(c.props))
			for k := range c.props {
				keys = append(keys, k)
			}
			sortStrings(keys)
			for _, k := range keys {
				fmt.Fprintf(&out, "# %s=%s\n", k, c.props[k])
			}
			out.WriteString("\n")
			for _, ev := range c.events {
				recs, err := ch.Encode(nil, ev)
				if err != nil {
					t.Fatal(err)
				}
				checkJSON(t, recs)
				fmt.Fprintf(&out, "## %s event\n", ev.Op)
				writeRecords(&out, recs)
			}
			golden(t, c.name, out.Bytes())
		})
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func unwrapProps(kv ...string) map[string]string {
	m := map[string]string{"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState"}
	for i := 0; i+1 < len(kv); i += 2 {
		m["transforms.unwrap."+kv[i]] = kv[i+1]
	}
	return m
}

// TestUnwrapGolden follows Debezium's New Record State Extraction page: the update of customer
// 1004 becomes its after state; deletes by delete.tombstone.handling.mode; add.fields and
// add.headers copy op, table and source.ts_ms.
func TestUnwrapGolden(t *testing.T) {
	all := []*capture.Event{customerInsert(), customerUpdate(), customerDelete()}
	runGolden(t, []goldenCase{
		{name: "unwrap_default", prefix: "dbserver1", props: unwrapProps(), events: all},
		{name: "unwrap_default_schemas", prefix: "dbserver1", schemas: true, props: unwrapProps(), events: all},
		{name: "unwrap_add_fields", prefix: "dbserver1", events: all,
			props: unwrapProps("add.fields", "op,table,source.ts_ms,ts_ms", "add.headers", "db,op:operation")},
		{name: "unwrap_add_fields_schemas", prefix: "dbserver1", schemas: true, events: all,
			props: unwrapProps("add.fields", "op,table,source.ts_ms", "add.headers", "db")},
		{name: "unwrap_rewrite", prefix: "dbserver1", events: all,
			props: unwrapProps("delete.tombstone.handling.mode", "rewrite", "add.fields", "op")},
		{name: "unwrap_rewrite_schemas", prefix: "dbserver1", schemas: true, events: all,
			props: unwrapProps("delete.tombstone.handling.mode", "rewrite")},
		{name: "unwrap_rewrite_with_tombstone", prefix: "dbserver1", events: all,
			props: unwrapProps("delete.tombstone.handling.mode", "rewrite-with-tombstone")},
		{name: "unwrap_drop", prefix: "dbserver1", events: all,
			props: unwrapProps("delete.tombstone.handling.mode", "drop")},
		{name: "unwrap_delete_to_tombstone", prefix: "dbserver1", events: all,
			props: unwrapProps("delete.tombstone.handling.mode", "delete-to-tombstone")},
		{name: "unwrap_legacy_keep_tombstones", prefix: "dbserver1", events: all,
			props: unwrapProps("drop.tombstones", "false")},
		{name: "unwrap_route_by_field", prefix: "dbserver1", events: all,
			props: unwrapProps("route.by.field", "last_name")},
	})
}

func outboxProps(kv ...string) map[string]string {
	m := map[string]string{"transforms": "outbox", "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter"}
	for i := 0; i+1 < len(kv); i += 2 {
		m["transforms.outbox."+kv[i]] = kv[i+1]
	}
	return m
}

// TestOutboxGolden follows Debezium's Outbox Event Router page: the row inserted into the
// outbox becomes an event on outbox.event.order keyed by the aggregate id with the event id
// header; its delete is dropped; table.expand.json.payload writes the payload as JSON.
func TestOutboxGolden(t *testing.T) {
	all := []*capture.Event{outboxInsert(), outboxDelete()}
	runGolden(t, []goldenCase{
		{name: "outbox_default", prefix: "dbserver1-bare", props: outboxProps(), events: all},
		{name: "outbox_default_schemas", prefix: "dbserver1-bare", schemas: true, props: outboxProps(), events: all},
		{name: "outbox_expand", prefix: "dbserver1-bare", props: outboxProps("table.expand.json.payload", "true"), events: all},
		{name: "outbox_expand_schemas", prefix: "dbserver1-bare", schemas: true, props: outboxProps("table.expand.json.payload", "true"), events: all},
		{name: "outbox_additional", prefix: "dbserver1-bare", events: all,
			props: outboxProps("table.fields.additional.placement", "type:header:eventType,aggregateid:envelope:id")},
		{name: "outbox_additional_schemas", prefix: "dbserver1-bare", schemas: true, events: all,
			props: outboxProps("table.fields.additional.placement", "type:envelope:eventType", "route.topic.replacement", "${routedByValue}.events")},
	})
}

// TestRouterGolden follows Debezium's Topic Routing page (ByLogicalTableRouter) and Kafka
// Connect's RegexRouter.
func TestRouterGolden(t *testing.T) {
	shard := func(n string, id int64) *capture.Event {
		ev := customerInsert()
		ev.Table.ID.Table = "customers_shard" + n
		ev.Source.Table = ev.Table.ID.Table
		ev.After[0] = capture.IntValue(id)
		return ev
	}
	del := customerDelete()
	del.Table.ID.Table = "customers_shard2"
	shards := []*capture.Event{shard("1", 1), shard("2", 1), del}
	reroute := map[string]string{"transforms": "Reroute", "transforms.Reroute.type": "io.debezium.transforms.ByLogicalTableRouter",
		"transforms.Reroute.topic.regex": "(.*)customers_shard(.*)", "transforms.Reroute.topic.replacement": "$1customers_all_shards"}
	rerouteKey := map[string]string{}
	for k, v := range reroute {
		rerouteKey[k] = v
	}
	rerouteKey["transforms.Reroute.key.field.name"] = "shard_id"
	rerouteKey["transforms.Reroute.key.field.regex"] = "(.*)customers_shard(.*)"
	rerouteKey["transforms.Reroute.key.field.replacement"] = "$2"
	regex := map[string]string{"transforms": "dropPrefix", "transforms.dropPrefix.type": "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.dropPrefix.regex": `dbserver1\.inventory\.(.*)`, "transforms.dropPrefix.replacement": "cdc_$1"}
	runGolden(t, []goldenCase{
		{name: "reroute", prefix: "dbserver1", props: reroute, events: shards},
		{name: "reroute_schemas", prefix: "dbserver1", schemas: true, props: reroute, events: shards},
		{name: "reroute_key_field", prefix: "dbserver1", props: rerouteKey, events: shards},
		{name: "regex_router", prefix: "dbserver1", props: regex, events: []*capture.Event{customerInsert()}},
	})
}

// TestFilterGolden follows Debezium's Message Filtering page: keep the updates of id 2
// (value.op == 'u' && value.before.id == 2), here of customer 1004.
func TestFilterGolden(t *testing.T) {
	props := func(cond string, kv ...string) map[string]string {
		m := map[string]string{"transforms": "filter", "transforms.filter.type": "io.debezium.transforms.Filter",
			"transforms.filter.language": "jsr223.groovy", "transforms.filter.condition": cond}
		for i := 0; i+1 < len(kv); i += 2 {
			m["transforms.filter."+kv[i]] = kv[i+1]
		}
		return m
	}
	all := []*capture.Event{customerInsert(), customerUpdate(), customerDelete()}
	runGolden(t, []goldenCase{
		{name: "filter_updates", prefix: "dbserver1", props: props("value.op == 'u' && value.before.id == 1004"), events: all},
		{name: "filter_updates_schemas", prefix: "dbserver1", schemas: true, props: props(`value.op == "u" && valueSchema.name == "dbserver1.inventory.customers.Envelope"`), events: all},
		{name: "filter_drop_tombstones", prefix: "dbserver1", props: props("value.op != 'c'", "null.handling.mode", "drop"), events: all},
	})
}

// TestChainOrder: unwrap, then route by the unwrapped row, then filter what is left.
func TestChainOrder(t *testing.T) {
	props := map[string]string{
		"transforms":                   "unwrap,route,keep",
		"transforms.unwrap.type":       "io.debezium.transforms.ExtractNewRecordState",
		"transforms.route.type":        "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex":       `.*\.customers`,
		"transforms.route.replacement": "customers",
		"transforms.keep.type":         "io.debezium.transforms.Filter",
		"transforms.keep.condition":    `topic == "customers" && value != nil && value.id == 1004`,
	}
	runGolden(t, []goldenCase{{name: "chain", prefix: "dbserver1", props: props,
		events: []*capture.Event{customerInsert(), customerUpdate(), customerDelete()}}})
}

// TestUnwrapRowNotObject: an envelope whose after is not an object (written by a transform
// before unwrap, say) is an error, not a garbled record.
func TestUnwrapRowNotObject(t *testing.T) {
	specs, _ := ParseProperties(unwrapProps("add.fields", "op"))
	built, err := Build(specs, Env{})
	if err != nil {
		t.Fatal(err)
	}
	var a Arena
	_, err = built[0].Transform.Apply(nil, envelope.Record{Topic: "t", Value: []byte(`{"before":null,"after":5,"source":{},"op":"c"}`)}, &a)
	if err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Fatalf("err = %v", err)
	}
}

// TestPredicateRefused: a transform's predicate (Kafka Connect's, on any transform) is refused
// with what it is, not as an option the transform lacks.
func TestPredicateRefused(t *testing.T) {
	_, err := Build([]Spec{{Name: "unwrap", Type: "io.debezium.transforms.ExtractNewRecordState",
		Options: map[string]string{"predicate": "isHeartbeat", "negate": "true"}}}, Env{})
	if err == nil || !strings.Contains(err.Error(), "transforms.unwrap.predicate: sluice does not support Kafka Connect predicates") ||
		!strings.Contains(err.Error(), "transforms.unwrap.negate:") || strings.Contains(err.Error(), "has no option") {
		t.Fatalf("err = %v", err)
	}
}
