package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/schema"
	"github.com/sluicecdc/sluice/transform"
)

func noEnv(string) (string, bool) { return "", false }

// TestTransformsConfig: transforms from a Debezium Server properties file, a flag overriding
// one option, and the chain RunPipeline builds from them.
func TestTransformsConfig(t *testing.T) {
	props := writeFile(t, "app.properties", `
debezium.source.topic.prefix=dbserver1
debezium.format.value.schemas.enable=false
debezium.transforms=unwrap,route
debezium.transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
debezium.transforms.unwrap.add.fields=op
debezium.transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
debezium.transforms.route.regex=dbserver1\\.(.*)
debezium.transforms.route.replacement=cdc.$1
`)
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props, "--transform", "unwrap.add.fields=op,table"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(noEnv); err != nil {
		t.Fatal(err)
	}
	specs, err := c.Transforms.Specs()
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "unwrap" || specs[0].Options["add.fields"] != "op,table" || specs[1].Options["regex"] != `dbserver1\.(.*)` {
		t.Fatalf("specs = %+v", specs)
	}
	enc, err := envelope.NewEncoder(c.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := c.withTransforms(enc)
	if err != nil {
		t.Fatal(err)
	}
	tbl := &schema.Table{ID: schema.TableID{DB: "inventory", Table: "t"}, Dialect: schema.MySQL,
		Columns: []schema.Column{{Name: "id", Type: "int", Length: -1, Scale: -1}}, PrimaryKey: []int{0}, Version: 1}
	recs, err := chain.Encode(nil, &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: tbl,
		After: capture.Row{capture.IntValue(1)}, Source: capture.Source{Connector: "mysql", DB: "inventory", Table: "t", TsMicros: time.Now().UnixMicro()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Topic != "cdc.inventory.t" || string(recs[0].Value) != `{"id":1,"__op":"c","__table":"t"}` {
		t.Fatalf("records = %+v", recs)
	}
}

// TestTransformsConfigErrors: an unknown type, an unknown option, a bad value and options of a
// transform not listed are each reported, naming the property.
func TestTransformsConfigErrors(t *testing.T) {
	props := writeFile(t, "app.properties", `
topic.prefix=dbserver1
transforms=a,unwrap,filter
transforms.a.type=io.debezium.transforms.NoSuchThing
transforms.unwrap.drop.tombstone=true
transforms.unwrap.delete.tombstone.handling.mode=keep
transforms.filter.condition=value.op ==
transforms.typo.type=io.debezium.transforms.Filter
`)
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(noEnv)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"transforms.a.type=io.debezium.transforms.NoSuchThing: unknown transform type",
		"transforms.unwrap.drop.tombstone: io.debezium.transforms.ExtractNewRecordState has no option",
		`transforms.unwrap.delete.tombstone.handling.mode="keep"`,
		"transforms.filter.condition",
		"transforms.typo.* is set but typo is not in transforms=a,unwrap,filter",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestTransformsNone: no transforms, no chain.
func TestTransformsNone(t *testing.T) {
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "x"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(noEnv); err != nil {
		t.Fatal(err)
	}
	enc, _ := envelope.NewEncoder(c.Envelope)
	got, err := c.withTransforms(enc)
	if err != nil || got != enc {
		t.Fatalf("withTransforms = %T, %v", got, err)
	}
	var _ = transform.Types
}

// TestColumnOptionsConfig: the column options from the properties file and flags reach the
// encoder; a bad one is an error naming it; an unknown column.* key stays a warning.
func TestColumnOptionsConfig(t *testing.T) {
	props := writeFile(t, "app.properties", `
debezium.source.topic.prefix=dbserver1
debezium.format.value.schemas.enable=false
debezium.source.column.mask.with.3.chars=inventory.t.secret
debezium.source.message.key.columns=inventory.t:secret
column.something.else=1
`)
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props, "--column-option", "column.truncate.to.2.chars=inventory.t.name"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(noEnv); err != nil {
		t.Fatal(err)
	}
	if len(c.unknown) != 1 || c.unknown[0] != "column.something.else" {
		t.Errorf("unknown = %q", c.unknown)
	}
	enc, err := envelope.NewEncoder(c.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	tbl := &schema.Table{ID: schema.TableID{DB: "inventory", Table: "t"}, Dialect: schema.MySQL, PrimaryKey: []int{0}, Version: 1,
		Columns: []schema.Column{{Name: "id", Type: "int", Length: -1, Scale: -1}, {Name: "name", Type: "varchar", Length: -1, Scale: -1},
			{Name: "secret", Type: "varchar", Length: -1, Scale: -1}}}
	recs, err := enc.Encode(nil, &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: tbl,
		After:  capture.Row{capture.IntValue(1), capture.StringValue([]byte("abc")), capture.StringValue([]byte("pw"))},
		Source: capture.Source{Connector: "mysql", DB: "inventory", Table: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if k, v := string(recs[0].Key), string(recs[0].Value); k != `{"secret":"***"}` || !strings.Contains(v, `"after":{"id":1,"name":"ab","secret":"***"}`) {
		t.Errorf("key %s value %s", k, v)
	}

	bad := writeFile(t, "bad.properties", "topic.prefix=x\ncolumn.mask.hash.MD2.with.salt.s=a.b.c\n")
	fs, c = newTestFlags(t)
	if err := fs.Parse([]string{"--config", bad}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(noEnv); err == nil || !strings.Contains(err.Error(), `column.mask.hash.MD2.with.salt.s: hash algorithm "MD2"`) {
		t.Errorf("err = %v", err)
	}
}

// TestTransformsClickHouseSink: unwrap before the ClickHouse sink, which reads envelopes, is
// refused at start; routing is not.
func TestTransformsClickHouseSink(t *testing.T) {
	tr := Transforms{List: "unwrap,route", flag: map[string]map[string]string{"route": {"regex": "a", "replacement": "b"}}}
	err := tr.checkSink("clickhouse")
	if err == nil || !strings.Contains(err.Error(), "transforms.unwrap (io.debezium.transforms.ExtractNewRecordState) replaces the change envelope, which --sink clickhouse reads") ||
		strings.Contains(err.Error(), "route") {
		t.Fatalf("err = %v", err)
	}
	if err := tr.checkSink("kafka"); err != nil {
		t.Fatal(err)
	}
}
