package transform

import (
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// FuzzTransforms: no transform panics on any key or value, with schemas on or off, marked
// Compact or not (records come from the encoder, but a transform after another sees what that
// one wrote).
func FuzzTransforms(f *testing.F) {
	for _, schemas := range []bool{false, true} {
		enc := encoderFor(f, "dbserver1", schemas)
		for _, ev := range []*capture.Event{customerUpdate(), customerDelete(), outboxInsert()} {
			recs, err := enc.Encode(nil, ev)
			if err != nil {
				f.Fatal(err)
			}
			for _, r := range recs {
				f.Add(schemas, append([]byte(nil), r.Key...), append([]byte(nil), r.Value...))
			}
		}
	}
	f.Add(false, []byte(`{"id":1}`), []byte(`{"before":{},"after":5,"source":{},"op":"c"}`))
	f.Add(true, []byte(`{"schema":{},"payload":{}}`), []byte(`{"schema":{"name":"x.Envelope","fields":[{"field":"after"}]},"payload":{"after":"x","op":"c","source":null}}`))
	props := []map[string]string{
		unwrapProps("add.fields", "op,table,source.ts_ms,transaction.id", "add.headers", "db,op", "route.by.field", "last_name"),
		unwrapProps("delete.tombstone.handling.mode", "rewrite"),
		outboxProps("table.expand.json.payload", "true", "table.fields.additional.placement", "type:envelope:t,id:header:x"),
		{"transforms": "reroute", "transforms.reroute.topic.regex": "(.*)", "transforms.reroute.topic.replacement": "$1x"},
		{"transforms": "filter", "transforms.filter.condition": "value?.op == 'u'", "transforms.filter.null.handling.mode": "evaluate"},
	}
	var ts [2][]Transform
	for i, schemas := range []bool{false, true} {
		for _, p := range props {
			specs, err := ParseProperties(p)
			if err != nil {
				f.Fatal(err)
			}
			built, err := Build(specs, Env{SchemasEnable: schemas})
			if err != nil {
				f.Fatal(err)
			}
			ts[i] = append(ts[i], built[0].Transform)
		}
	}
	f.Fuzz(func(t *testing.T, schemas bool, key, value []byte) {
		i := 0
		if schemas {
			i = 1
		}
		for _, tr := range ts[i] {
			// Compact as well: unwrap then reads by the encoder's layout (parseEncoded), which
			// must not panic on anything either.
			for _, compact := range []bool{false, true} {
				var a Arena
				_, _ = tr.Apply(nil, envelope.Record{Topic: "dbserver1.inventory.customers", Key: key, Value: value, Compact: compact}, &a)
			}
		}
	})
}
