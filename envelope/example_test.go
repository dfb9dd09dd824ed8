package envelope_test

import (
	"fmt"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/schema"
)

func ExampleEncoder_Encode() {
	enc, err := envelope.NewEncoder(envelope.Config{
		TopicPrefix:        "dbserver1",
		TombstonesOnDelete: true,
		Now:                func() time.Time { return time.UnixMilli(1705314600512) },
	})
	if err != nil {
		panic(err)
	}
	t := &schema.Table{
		ID:      schema.TableID{DB: "inventory", Table: "items"},
		Dialect: schema.MySQL,
		Columns: []schema.Column{
			{Name: "id", Type: "int", Length: -1, Scale: -1},
			{Name: "price", Type: "decimal", Length: 10, Scale: 2, Nullable: true},
		},
		PrimaryKey: []int{0},
		Version:    1,
	}
	ev := &capture.Event{
		Kind: capture.Change, Op: capture.OpDelete, Table: t,
		Before: capture.Row{capture.IntValue(7), capture.DecimalValue(1999, 2)},
		Source: capture.Source{Connector: "mysql", TsMicros: 1705314600000000, DB: "inventory", Table: "items",
			ServerID: 1, File: "binlog.000001", Pos: 4},
	}
	recs, err := enc.Encode(nil, ev)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Printf("%s key=%s value=%.60s\n", r.Topic, r.Key, r.Value)
	}
	// Output:
	// dbserver1.inventory.items key={"id":7} value={"before":{"id":7,"price":"B88="},"after":null,"source":{"ve
	// dbserver1.inventory.items key={"id":7} value=
}
